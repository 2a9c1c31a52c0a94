"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import (
    Daily,
    IncidentStats,
    Report,
)


class PgReports:
    """Implements `bot.repositories.ReportsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def report(self, since: datetime, until: datetime, *, oldest: int = 5, team: str | None = None) -> Report:
        raise NotImplementedError  # SKELETON

    async def per_day(self, until: datetime, days: int = 14) -> Daily:
        raise NotImplementedError  # SKELETON

    async def incidents(self, since: datetime, until: datetime) -> IncidentStats:
        raise NotImplementedError  # SKELETON
