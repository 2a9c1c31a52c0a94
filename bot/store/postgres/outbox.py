"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.outbound import Destination, Message
from bot.records import (
    OutboxRow,
)


class PgOutbox:
    """Implements `bot.repositories.OutboxRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def enqueue(
        self,
        destination: Destination,
        message: Message,
        *,
        at: datetime,
        ticket: int | None = None,
        log_message: int | None = None,
        coalesce: bool = True,
    ) -> int:
        raise NotImplementedError  # SKELETON

    async def due(self, now: datetime, *, platforms: Sequence[str], limit: int = 200) -> list[OutboxRow]:
        raise NotImplementedError  # SKELETON

    async def next_attempt_at(self, *, platforms: Sequence[str]) -> datetime | None:
        raise NotImplementedError  # SKELETON

    async def pending_count(self) -> int:
        raise NotImplementedError  # SKELETON

    async def mark_sending(self, row: OutboxRow, at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def mark_delivered(self, row: OutboxRow, at: datetime, delivered_id: str) -> bool:
        raise NotImplementedError  # SKELETON

    async def mark_retry(self, row: OutboxRow, next_at: datetime, error: str, *, outcome_unknown: bool = False) -> None:
        raise NotImplementedError  # SKELETON

    async def mark_failed(self, row: OutboxRow, error: str) -> None:
        raise NotImplementedError  # SKELETON
