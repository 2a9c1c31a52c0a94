"""Macros as Markdown files with front matter, like knowledge-base articles (`threaddesk macros import|export`).

```markdown
---
name: reset-link            # optional; defaults to the file name without `.md`
status: pending             # optional actions: status, priority, tags (`-tag` removes one), note
tags: [password]
---
Hi {customer.first_name}, here is how to get back in: {kb:reset-password}
```

Shared macros only, unless the front matter names an `owner` ("slack:U0123"): a personal macro. A file that
cannot be used is reported with its line; the others still import, and a macro that did not change keeps
its version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.config import USER_KEY
from bot.domain.errors import DeskError
from bot.domain.macros import KB_PREFIX, Macro, check_body, check_name, parse_actions, placeholders
from bot.ports import Store
from kb.frontmatter import ArticleParseError, split

ALLOWED_KEYS = ("name", "owner", "status", "priority", "tags", "note")


@dataclass(frozen=True)
class FileError:
    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[FileError] = field(default_factory=list)


def parse_macro(text: str, source: Path) -> Macro:
    """One file's macro; raises `ArticleParseError` (with the file line) for anything unusable."""
    front = split(text)
    data, lines = front.data, front.key_lines
    unknown = [str(k) for k in data if k not in ALLOWED_KEYS]
    if unknown:
        raise ArticleParseError(
            lines.get(unknown[0], 1), f"unknown key '{unknown[0]}'; allowed: {', '.join(ALLOWED_KEYS)}"
        )
    try:
        name = check_name(str(data.get("name") or source.stem))
    except DeskError as exc:
        raise ArticleParseError(lines.get("name", 1), exc.message) from None
    owner = str(data.get("owner") or "")
    if owner and not USER_KEY.match(owner):
        raise ArticleParseError(lines.get("owner", 1), f"owner {owner!r} is not 'platform:user-id'")
    parts: list[str] = []
    for key in ("status", "priority"):
        if data.get(key) is not None:
            parts.append(f"{key} {data[key]}")
    tags: Any = data.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ArticleParseError(lines.get("tags", 1), "'tags' must be a list of strings")
        parts.append("tag " + " ".join(tags))
    if data.get("note") is not None:
        parts.append(f"note {data['note']}")  # last: a note's text may hold `;`
    try:
        actions = parse_actions("; ".join(parts))
    except DeskError as exc:
        key = next((k for k in ("status", "priority", "tags", "note") if k in data), "name")
        raise ArticleParseError(lines.get(key, 1), exc.message) from None
    return Macro(name=name, body=front.body.strip(), actions=actions, owner=owner)


def dump_macro(macro: Macro) -> str:
    front: dict[str, Any] = {"name": macro.name}
    if macro.owner:
        front["owner"] = macro.owner
    a = macro.actions
    if a.status:
        front["status"] = a.status.value
    if a.priority:
        front["priority"] = a.priority.value
    if a.tags_add or a.tags_remove:
        front["tags"] = [*a.tags_add, *(f"-{t}" for t in a.tags_remove)]
    if a.note:
        front["note"] = a.note
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=120)
    return f"---\n{head}---\n{macro.body.strip()}\n"


async def import_folder(db: Store, folder: Path, *, at: datetime, actor: str = "import") -> ImportResult:
    """Every `*.md` in `folder`, checked like `/macro add` (placeholders, articles), in one transaction."""
    result = ImportResult()
    found: list[tuple[Path, Macro]] = []
    for path in sorted(p for p in folder.glob("*.md") if p.is_file() and not p.name.startswith(".")):
        try:
            found.append((path, parse_macro(path.read_text(encoding="utf-8-sig"), path)))
        except ArticleParseError as exc:
            result.errors.append(FileError(path, exc.line, exc.message))
        except (OSError, UnicodeDecodeError) as exc:
            result.errors.append(FileError(path, None, f"cannot read the file: {exc}"))
    async with db.transaction() as uow:
        for path, macro in found:
            cited = [p.removeprefix(KB_PREFIX).strip().lower() for p in placeholders_or_empty(macro.body)]
            known = {a for a in cited if a and await uow.articles.get_article(a) is not None}
            try:
                check_body(macro.body, known.__contains__)
            except DeskError as exc:
                result.errors.append(FileError(path, None, exc.message))
                continue
            existed = await uow.macros.get(macro.name, macro.owner) is not None
            version = await uow.macros.save(macro, actor=actor, at=at, change=f"imported from {path.name}")
            if version is None:
                result.unchanged += 1
            elif existed:
                result.updated += 1
            else:
                result.added += 1
    return result


def placeholders_or_empty(body: str) -> list[str]:
    """The `{kb:…}` placeholders of `body` (none when its braces are broken: `check_body` says so)."""
    try:
        return [p for p in placeholders(body) if p.startswith(KB_PREFIX)]
    except DeskError:
        return []


async def export_folder(db: Store, folder: Path) -> list[Path]:
    """One `<name>.md` per shared macro and `<name>@<owner>.md` per personal one."""
    async with db.reading() as uow:
        everything = await uow.macros.everything()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for macro in everything:
        stem = macro.name if macro.shared else f"{macro.name}@{macro.owner.replace(':', '-')}"
        path = folder / f"{stem}.md"
        path.write_text(dump_macro(macro), encoding="utf-8")
        written.append(path)
    return written
