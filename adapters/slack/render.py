"""Neutral `Message` → Block Kit blocks plus fallback text. Pure: no I/O.

Every string a person wrote is escaped for mrkdwn (`&`, `<`, `>`), so `<!channel>` or `<@U…>` can never
become a ping, and the core has already broken `@here`-style text with a zero-width space. Text longer than
Slack's limits is split over several sections or, past the block budget, shortened with a pointer to the
ticket's history (which keeps the full text).
"""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.markdown import to_mrkdwn
from adapters.slack.translate import (
    ARTICLE_CALLBACK,
    PLATFORM,
    VIEW_CALLBACK,
    Press,
    encode_prompt,
    view_metadata,
)
from bot.domain.text import neutralise_mentions
from bot.outbound import Button, ButtonStyle, Message, all_menus

Block = dict[str, Any]

SECTION_CHARS = 3_000
FIELD_CHARS = 2_000
MAX_FIELDS = 10
HEADER_CHARS = 150
BUTTON_LABEL_CHARS = 75
BUTTON_VALUE_CHARS = 2_000
OPTION_VALUE_CHARS = 150
MAX_BLOCKS = 50
MAX_ACTIONS = 25
#: Slack truncates `text` at 40,000 characters; we stay well below for notifications.
FALLBACK_CHARS = 4_000
MODAL_TITLE_CHARS = 24
MORE = "… (shortened — the full text is in the ticket's history: /ticket show)"


def escape(text: str) -> str:
    """mrkdwn escaping: the only three characters Slack wants escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe(text: str) -> str:
    return escape(neutralise_mentions(text))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_escaped(text: str, limit: int = SECTION_CHARS, *, escaped: bool = False) -> list[str]:
    """Escape `text` (unless it already is) and cut it into pieces of at most `limit` characters, preferring
    line then word breaks, never inside an `&amp;` entity."""
    whole = text if escaped else escape(text)
    if len(whole) <= limit:
        return [whole.rstrip()] if whole.strip() else [""]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    last_break = -1  # index in `current` after which a break is nice
    for ch in whole if escaped else text:
        out = ch if escaped else escape(ch)
        if size + len(out) > limit:
            cut = last_break + 1 if last_break >= 0 else len(current)
            pieces.append("".join(current[:cut]).rstrip())
            current = current[cut:]
            size = sum(len(p) for p in current)
            last_break = -1
        current.append(out)
        size += len(out)
        if ch in "\n ":
            last_break = len(current) - 1
    if current:
        pieces.append("".join(current).rstrip())
    return [p for p in pieces if p.strip()] or [""]


def fallback_text(message: Message) -> str:
    text = to_mrkdwn(message.text) if message.markdown else safe(message.text)
    if len(text) > FALLBACK_CHARS:
        text = text[: FALLBACK_CHARS - len(MORE)].rstrip() + MORE
    return text


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(neutralise_mentions(text), limit) or " ", "emoji": True}


def _button(button: Button, index: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": _plain(button.label + ("…" if button.prompt else ""), BUTTON_LABEL_CHARS),
    }
    if button.prompt:
        element["action_id"] = f"td_prompt_{index}"
        element["value"] = encode_prompt(button.command, button.prompt)[:BUTTON_VALUE_CHARS]
    else:
        element["action_id"] = f"td_run_{index}"
        element["value"] = button.command[:BUTTON_VALUE_CHARS]
    if button.style is ButtonStyle.PRIMARY:
        element["style"] = "primary"
    elif button.style is ButtonStyle.DANGER:
        element["style"] = "danger"
    return element


def _actions(message: Message) -> list[dict[str, Any]]:
    elements = [_button(b, i) for i, b in enumerate(message.buttons)]
    for index, menu in enumerate(all_menus(message)):
        # a static select filters its options as you type (type-ahead); action ids must differ per block
        elements.append(
            {
                "type": "static_select",
                "action_id": "td_select" if index == 0 else f"td_select_{index}",
                "placeholder": _plain(menu.placeholder, BUTTON_LABEL_CHARS),
                "options": [
                    {"text": _plain(o.label, BUTTON_LABEL_CHARS), "value": o.command[:OPTION_VALUE_CHARS]}
                    for o in menu.options[:100]
                ],
            }
        )
    return elements[:MAX_ACTIONS]


def blocks(message: Message) -> list[Block]:
    out: list[Block] = []
    if message.title:
        out.append({"type": "header", "text": _plain(message.title, HEADER_CHARS)})
    if message.fields:
        fields = [
            {"type": "mrkdwn", "text": clip(f"*{safe(f.name)}*\n{safe(f.value)}", FIELD_CHARS)}
            for f in message.fields[:MAX_FIELDS]
        ]
        out.append({"type": "section", "fields": fields})
    if not (message.title and message.fields):  # a card's text repeats its fields: only the fallback has it
        reserved = len(out) + (1 if message.buttons or all_menus(message) else 0) + (1 if message.footer else 0)
        reserved += 1 if link_text(message) else 0
        room = MAX_BLOCKS - reserved
        if message.markdown:  # a KB article: converted (and escaped) as a whole, then cut
            pieces = split_escaped(to_mrkdwn(message.text), escaped=True)
        else:
            pieces = split_escaped(neutralise_mentions(message.text))
        if len(pieces) > room:
            pieces = [*pieces[: room - 1], clip(pieces[room - 1], SECTION_CHARS - len(MORE)) + MORE]
        out += [{"type": "section", "text": {"type": "mrkdwn", "text": p}} for p in pieces if p]
    link = link_text(message)
    if link:
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    actions = _actions(message)
    if actions:
        out.append({"type": "actions", "elements": actions})
    if message.footer:
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(safe(message.footer), 2000)}]})
    pings = mention_tokens(message)
    if pings:
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"cc {pings}"}]})
    return out


def link_text(message: Message) -> str:
    """`<url|label>`: the message's link as mrkdwn (a link button would need its press acknowledged)."""
    link = message.link
    if link is None or not link.url or not link.url.startswith(("https://", "http://")) or "|" in link.url:
        return ""
    return f"<{escape(link.url)}|{clip(safe(link.label), 200)}>"


def mention_tokens(message: Message) -> str:
    """Real mentions for the people the core means to notify (SLA alerts): `<@U…>`, Slack users only.
    Ids come from our config and Slack's own payloads, never from customer text."""
    return " ".join(f"<@{person.id}>" for person in message.mentions if person.platform == PLATFORM)


def render(message: Message) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for chat.postMessage / chat.update. Mentions go into the fallback text too:
    it is what notifications show."""
    text = fallback_text(message)
    link = link_text(message)
    if link:
        text = f"{text}\n{link}"
    pings = mention_tokens(message)
    return (f"{pings} {text}" if pings else text), blocks(message)


def prompt_modal(press: Press) -> dict[str, Any]:
    """The modal a prompt button opens (Reply…, Resolve…). Its submission runs `command` + the text."""
    label = press.label.rstrip("…") or "ThreadDesk"
    return {
        "type": "modal",
        "callback_id": VIEW_CALLBACK,
        "private_metadata": view_metadata(press),
        "title": _plain(clip(label, MODAL_TITLE_CHARS), MODAL_TITLE_CHARS),
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "text",
                "label": _plain(press.prompt or "Text", 2000),
                "element": {"type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": 3000},
            }
        ],
    }


def article_modal(channel: str) -> dict[str, Any]:
    """`/kb add` typed alone: a form for the article instead of one `title | aliases | body` line."""

    def field(name: str, label: str, hint: str, *, optional: bool, multiline: bool) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": name,
            "optional": optional,
            "label": _plain(label, 2000),
            "hint": _plain(hint, 2000),
            "element": {"type": "plain_text_input", "action_id": name, "multiline": multiline, "max_length": 3000},
        }

    return {
        "type": "modal",
        "callback_id": ARTICLE_CALLBACK,
        "private_metadata": json.dumps({"channel": channel}, separators=(",", ":")),
        "title": _plain("New article", MODAL_TITLE_CHARS),
        "submit": {"type": "plain_text", "text": "Add"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            field(
                "title",
                "Title",
                "What the article answers, as a customer would put it",
                optional=False,
                multiline=False,
            ),
            field("aliases", "How customers ask it", "Phrasings separated by ;", optional=True, multiline=False),
            field("body", "The answer", "Markdown is fine", optional=True, multiline=True),
        ],
    }
