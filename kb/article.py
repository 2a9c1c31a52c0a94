"""The knowledge-base article: what the matcher searches and what a customer is pointed to."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^>]+)>")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_LINE_MARKER = re.compile(r"^\s*(?:>\s*)*(?:[-*+]\s+|\d{1,9}[.)]\s+)?")
_EMPHASIS = re.compile(r"(\*{1,3}|~~|`+)(?=\S)(.+?)(?<=\S)\1|(?<!\w)(_{1,3})(?=\S)(.+?)(?<=\S)\3(?!\w)")


class Article(BaseModel):
    """One article. `aliases` are example customer phrasings; they matter most for matching."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, description="slug; the file stem unless the front matter sets `id`")
    title: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    learned: tuple[str, ...] = Field(default=(), description="customer wordings learned from use, kept apart")
    tags: tuple[str, ...] = ()
    category: str | None = None
    body: str = Field(default="", description="Markdown after the front matter")

    def summary(self, max_chars: int = 200) -> str:
        """The body's first paragraph as plain text, at most `max_chars` long (cut at a word, with "…")."""
        return shorten(_first_paragraph(self.body), max_chars)


def shorten(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return "…"[:max_chars]
    cut = text[: max_chars - 1]
    if not text[max_chars - 1].isspace() and " " in cut:  # don't break a word in half
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–—") + "…"


def _first_paragraph(body: str) -> str:
    """The first block of prose: headings, rules and code blocks are skipped; Markdown markers removed."""
    lines: list[str] = []
    in_code = False
    for raw in body.splitlines():
        if _FENCE.match(raw):
            in_code = not in_code
            continue
        if in_code or _HEADING.match(raw) or _RULE.match(raw) or not raw.strip():
            if lines:
                break
            continue
        lines.append(_plain(raw))
    return " ".join(" ".join(lines).split())


def _plain(line: str) -> str:
    line = _LINE_MARKER.sub("", line, count=1)
    line = _IMAGE.sub(r"\1", line)
    line = _LINK.sub(r"\1", line)
    line = _AUTOLINK.sub(r"\1", line)
    line = _TAG.sub("", line)
    previous = None
    while previous != line:  # nested emphasis: ***bold italic***, **`code`**
        previous, line = line, _EMPHASIS.sub(_unemphasise, line)
    return line.replace("\\", "")


def _unemphasise(match: re.Match[str]) -> str:
    return match.group(2) if match.group(2) is not None else match.group(4)
