"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.domain.sla import Due, Level, ResolutionClock, Target
from bot.records import (
    StoredClock,
)


class PgSla:
    """Implements `bot.repositories.SlaRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def get_clock(self, ticket: int) -> StoredClock | None:
        raise NotImplementedError  # SKELETON

    async def save_clock(self, ticket: int, clock: ResolutionClock, due: Due) -> None:
        raise NotImplementedError  # SKELETON

    async def load(self, ticket: int) -> tuple[StoredClock | None, set[tuple[str, str]]]:
        raise NotImplementedError  # SKELETON

    async def record_alert(
        self, ticket: int, target: Target, level: Level, due_at: datetime, fired_at: datetime, late: bool
    ) -> bool:
        raise NotImplementedError  # SKELETON
