"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import (
    Conversation,
)


class PgCatchUp:
    """Implements `bot.repositories.CatchUpRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def read_marks(self, platform: str) -> dict[str, str]:
        raise NotImplementedError  # SKELETON

    async def advance(self, platform: str, marks: dict[str, str], at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def open_conversations(self, platform: str, limit: int) -> list[Conversation]:
        raise NotImplementedError  # SKELETON
