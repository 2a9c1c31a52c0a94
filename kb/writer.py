"""Write an article back as Markdown with YAML front matter — the format `kb.loader` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kb.article import Article


def dump_article(article: Article) -> str:
    """The file text of `article`: authored fields only (learned aliases live in the database)."""
    front: dict[str, Any] = {"id": article.id, "title": article.title}
    if article.aliases:
        front["aliases"] = list(article.aliases)
    if article.tags:
        front["tags"] = list(article.tags)
    if article.category:
        front["category"] = article.category
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=120)
    body = article.body.strip()
    return f"---\n{head}---\n{body}\n" if body else f"---\n{head}---\n"


def write_directory(folder: Path, articles: list[Article]) -> list[Path]:
    """One `<id>.md` per article; existing files with those names are replaced, others are left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for article in articles:
        path = folder / f"{article.id}.md"
        path.write_text(dump_article(article), encoding="utf-8")
        written.append(path)
    return written
