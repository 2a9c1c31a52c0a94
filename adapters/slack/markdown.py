"""KB articles are Markdown; Slack speaks mrkdwn (`*bold*`, `_italic_`, `<url|text>`, no headings).

The conversion is slackify-markdown's (a markdown-it-py renderer). Its output is then made safe the way the
rest of the adapter's text is: only the links it wrote may stay as `<…>`; any other `<`, `>` or bare `&`
(a code block, an author's `<!channel>`) is escaped, so an article can never ping or inject a control sequence.
"""

from __future__ import annotations

import re

from slackify_markdown import slackify_markdown

from bot.domain.text import neutralise_mentions

# what may stay between < and >: links to web pages and mail addresses, with or without a label
_LINK = re.compile(r"<(?:https?://|mailto:)[^<>|\s]+(?:\|[^<>]*)?>")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_LIST_GAP = re.compile(r"^(\s*)(•|\d+\.)\s{2,}", re.MULTILINE)


def to_mrkdwn(markdown: str) -> str:
    converted = _LIST_GAP.sub(r"\1\2 ", slackify_markdown(neutralise_mentions(markdown)).strip())
    out: list[str] = []
    last = 0
    for link in _LINK.finditer(converted):
        out.append(_escape_loose(converted[last : link.start()]))
        out.append(link.group(0))
        last = link.end()
    out.append(_escape_loose(converted[last:]))
    return "".join(out)


def _escape_loose(text: str) -> str:
    """Escape `<`, `>` and every `&` that does not already start an entity."""
    pieces = _ENTITY.split(text)
    entities = _ENTITY.findall(text)
    escaped = [p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for p in pieces]
    return "".join(e + (entities[i] if i < len(entities) else "") for i, e in enumerate(escaped))
