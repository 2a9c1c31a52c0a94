"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import (
    Holder,
)


class PgLeases:
    """Implements `bot.repositories.LeasesRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def current(self, role: str) -> Holder | None:
        raise NotImplementedError  # SKELETON

    async def take(self, role: str, claimant: Holder, now: datetime) -> Holder | None:
        raise NotImplementedError  # SKELETON

    async def renew(self, role: str, token: str, expires: datetime) -> bool:
        raise NotImplementedError  # SKELETON

    async def release(self, role: str, token: str) -> None:
        raise NotImplementedError  # SKELETON
