"""KB articles are (CommonMark) Markdown; Discord renders most of it as written. Only what differs is
rewritten: headings below `###` (Discord has three levels) become bold lines, `__text__` (bold in Markdown,
underline on Discord) becomes `**text**`, images become links, and rules (`---`) become a line of `─`.
Code blocks are left alone."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_DEEP_HEADING = re.compile(r"^\s{0,3}#{4,6}\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_UNDERSCORE_BOLD = re.compile(r"(?<![\w_])__(?=\S)(.+?)(?<=\S)__(?![\w_])")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")


def to_discord(markdown: str) -> str:
    lines: list[str] = []
    in_code = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_code = not in_code
            lines.append(line)
            continue
        if in_code:
            lines.append(line)
        elif heading := _DEEP_HEADING.match(line):
            lines.append(f"**{heading.group(1)}**")
        elif _RULE.match(line):
            lines.append("──────────")
        else:
            lines.append(_inline(line))
    return "\n".join(lines)


def _inline(line: str) -> str:
    """Rewrite outside inline code spans only."""
    out: list[str] = []
    last = 0
    for code in _INLINE_CODE.finditer(line):
        out.append(_rewrite(line[last : code.start()]))
        out.append(code.group(0))
        last = code.end()
    out.append(_rewrite(line[last:]))
    return "".join(out)


def _rewrite(text: str) -> str:
    text = _IMAGE.sub(lambda m: f"[{m.group(1) or 'image'}]({m.group(2)})", text)
    return _UNDERSCORE_BOLD.sub(r"**\1**", text)
