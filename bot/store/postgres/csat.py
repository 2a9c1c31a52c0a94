"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import (
    Survey,
)


class PgCsat:
    """Implements `bot.repositories.CsatRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def ask(self, ticket: int, at: datetime) -> bool:
        raise NotImplementedError  # SKELETON

    async def get(self, ticket: int) -> Survey | None:
        raise NotImplementedError  # SKELETON

    async def rate(self, ticket: int, rating: int, comment: str | None, at: datetime) -> None:
        raise NotImplementedError  # SKELETON
