"""Load a folder of Markdown articles with YAML front matter.

```markdown
---
id: reset-password            # optional; defaults to the file name without `.md`
title: Reset your password    # required
aliases:                      # example customer phrasings (what the matcher compares against)
  - cant log in
  - forgot my password
tags: [login, password]
category: account
---
Body in Markdown. The first paragraph is the summary shown next to a suggestion.
```

`load_directory` never gives up on the whole folder because of one bad file: each problem becomes an
`ArticleError` with the file and line, phrased for the person who wrote the article, and the other
articles still load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kb.article import Article
from kb.frontmatter import ArticleParseError, FrontMatter, split
from kb.progress import NO_PROGRESS, Progress

__all__ = ["ArticleError", "ArticleParseError", "LoadResult", "load_directory", "parse_article"]

ALLOWED_KEYS = ("id", "title", "aliases", "tags", "category")
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class ArticleError(BaseModel):
    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else f"{self.path}"
        return f"{where}: {self.message}"


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)


def parse_article(text: str, *, source: Path) -> Article:
    """Parse one article file's text; raises `ArticleParseError` with the file line of the problem."""
    return _parse(text, source)[0]


def load_directory(path: Path, progress: Progress = NO_PROGRESS) -> LoadResult:
    """Load every `*.md` file directly in `path` (sorted by name; dot-files are skipped)."""
    if not path.exists():
        raise FileNotFoundError(f"knowledge base folder not found: {path}")
    if not path.is_dir():
        raise NotADirectoryError(f"knowledge base path is not a folder: {path}")
    result = LoadResult()
    seen: dict[str, Path] = {}
    files = sorted((p for p in path.glob("*.md") if p.is_file() and not p.name.startswith(".")), key=_by_name)
    progress.start("Reading articles", len(files))
    for file in files:
        progress.advance()
        try:
            article, key_lines = _parse(_read(file), file)
        except ArticleParseError as exc:
            result.errors.append(ArticleError(path=file, line=exc.line, message=exc.message))
            continue
        if article.id in seen:
            message = f"duplicate article id '{article.id}' (also in {seen[article.id].name})"
            result.errors.append(ArticleError(path=file, line=key_lines.get("id", 1), message=message))
            continue
        seen[article.id] = file
        result.articles.append(article)
    return result


def _by_name(path: Path) -> str:
    return path.name


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleParseError(None, f"file is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise ArticleParseError(None, f"cannot read the file: {exc.strerror or exc}") from exc


def _parse(text: str, source: Path) -> tuple[Article, dict[str, int]]:
    front = split(text)
    data, lines = front.data, front.key_lines
    unknown = [str(key) for key in data if key not in ALLOWED_KEYS]
    if unknown:
        names = ", ".join(f"'{key}'" for key in unknown)
        noun = "key" if len(unknown) == 1 else "keys"
        raise ArticleParseError(
            lines.get(unknown[0], 1), f"unknown {noun} {names}; allowed keys: {', '.join(ALLOWED_KEYS)}"
        )
    if "title" not in data:
        raise ArticleParseError(1, "missing required key 'title'")
    article_id = source.stem if data.get("id") is None else _text(front, "id")
    if not _SLUG.fullmatch(article_id):
        raise ArticleParseError(
            lines.get("id", 1),
            f"article id '{article_id}' is not a slug: use letters, digits, '-', '_' or '.', no spaces"
            + ("" if "id" in data else " (or set 'id' in the front matter)"),
        )
    article = Article(
        id=article_id,
        title=_text(front, "title"),
        aliases=_strings(front, "aliases"),
        tags=_strings(front, "tags"),
        category=None if data.get("category") is None else _text(front, "category"),
        body=front.body,
    )
    return article, lines


def _text(front: FrontMatter, key: str) -> str:
    value: Any = front.data.get(key)
    if not isinstance(value, str) or not value.strip():
        hint = " (put it in quotes if it looks like a number, date or yes/no)" if value is not None else ""
        raise ArticleParseError(front.key_lines.get(key, 1), f"'{key}' must be a non-empty string{hint}")
    return value.strip()


def _strings(front: FrontMatter, key: str) -> tuple[str, ...]:
    value: Any = front.data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ArticleParseError(front.key_lines.get(key, 1), f"'{key}' must be a list of strings")
    return tuple(dict.fromkeys(item.strip() for item in value))
