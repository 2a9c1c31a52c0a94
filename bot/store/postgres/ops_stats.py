"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.telemetry import DeskStats


class PgOpsStats:
    """Implements `bot.repositories.OpsStatsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def last_event_id(self) -> int:
        raise NotImplementedError  # SKELETON

    async def count_openings(self, stats: DeskStats, after_id: int, upto_id: int) -> None:
        raise NotImplementedError  # SKELETON

    async def read_stats(self, now: datetime) -> DeskStats:
        raise NotImplementedError  # SKELETON

    async def oldest_pending(self, platforms: tuple[str, ...]) -> datetime | None:
        raise NotImplementedError  # SKELETON

    async def schema_version(self) -> int:
        raise NotImplementedError  # SKELETON

    async def pending_count(self) -> int:
        raise NotImplementedError  # SKELETON
