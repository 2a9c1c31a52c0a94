"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.records import (
    ArticleStats,
    Learned,
    Version,
)
from kb.article import Article


class PgArticles:
    """Implements `bot.repositories.ArticlesRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def bump_revision(self) -> None:
        raise NotImplementedError  # SKELETON

    async def revision(self) -> int:
        raise NotImplementedError  # SKELETON

    async def save_article(self, article: Article, *, actor: str, at: datetime, change: str) -> int | None:
        raise NotImplementedError  # SKELETON

    async def get_article(self, article_id: str) -> Article | None:
        raise NotImplementedError  # SKELETON

    async def all_articles(self) -> list[Article]:
        raise NotImplementedError  # SKELETON

    async def count_articles(self) -> int:
        raise NotImplementedError  # SKELETON

    async def versions(self, article_id: str) -> list[Version]:
        raise NotImplementedError  # SKELETON

    async def learned(self, article_id: str) -> list[Learned]:
        raise NotImplementedError  # SKELETON

    async def learn(self, article_id: str, text: str, *, source: str, ticket: int | None, at: datetime) -> bool:
        raise NotImplementedError  # SKELETON

    async def unlearn(self, article_id: str, positions: Sequence[int] | None) -> int:
        raise NotImplementedError  # SKELETON

    async def record_feedback(self, ticket: int | None, articles: Sequence[str], kind: str, at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def suggested_for(self, ticket: int) -> list[str]:
        raise NotImplementedError  # SKELETON

    async def stats(self) -> list[ArticleStats]:
        raise NotImplementedError  # SKELETON
