"""Text hygiene for anything the bot relays from one person to another."""

from __future__ import annotations

import re
import unicodedata

ZWSP = "\u200b"
#: Hard cap on what we store per message; longer text is kept in full up to this size and flagged.
MAX_MESSAGE_CHARS = 40_000
SUBJECT_CHARS = 120

# <!channel> <!here|here> <!everyone> <!subteam^S123|@team> (Slack); <@U123> <@!123> <@&role> (Slack/Discord)
_ANGLE_MENTION = re.compile(r"<(?:!(?:subteam\^)?|@[!&]?)([^<>|\s]+)(?:\|([^<>]*))?>")
_BROADCAST = re.compile(r"@(?=(?:channel|everyone|here)\b)", re.IGNORECASE)
_USER_AT = re.compile(r"(?<![\w" + ZWSP + r"])@(?=[\w.\-])")


def neutralise_mentions(text: str) -> str:
    """Make relayed text unable to ping: `@everyone` → `@\u200beveryone`, `<@U1>` → `@\u200bU1`.

    The visible text stays readable; the zero-width space breaks every platform's mention parser.
    """

    def angle(match: re.Match[str]) -> str:
        label = match.group(2) or match.group(1)
        return "@" + ZWSP + label.lstrip("@")

    text = _ANGLE_MENTION.sub(angle, text)
    text = _BROADCAST.sub("@" + ZWSP, text)
    return _USER_AT.sub("@" + ZWSP, text)


_CONTROL = frozenset({"Cc", "Cf", "Co", "Cs"})
_KEEP = frozenset("\n\t\u200c\u200d" + ZWSP)  # joiners matter for emoji and several scripts


def clean_text(text: str) -> str:
    """Normalise what a person typed: NFC, no control characters except newline/tab, trimmed."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in _KEEP or unicodedata.category(ch) not in _CONTROL).strip()


def subject_from(text: str) -> str:
    """First non-empty line, trimmed to a card-friendly length."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return shorten(line, SUBJECT_CHARS)
    return "(no text)"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
