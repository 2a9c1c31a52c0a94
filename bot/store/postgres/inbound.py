"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import (
    TakenIn,
    WaitingMessage,
)


class PgInbound:
    """Implements `bot.repositories.InboundRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def taken_in(self, platform: str, message_id: str) -> TakenIn | None:
        raise NotImplementedError  # SKELETON

    async def claim_inbound(self, platform: str, message_id: str, at: datetime) -> bool:
        raise NotImplementedError  # SKELETON

    async def accept(self, platform: str, message_id: str, payload: str, at: datetime) -> bool:
        raise NotImplementedError  # SKELETON

    async def settle(self, platform: str, message_id: str) -> None:
        raise NotImplementedError  # SKELETON

    async def waiting(self, limit: int = 500) -> list[WaitingMessage]:
        raise NotImplementedError  # SKELETON

    async def give_up(self, platform: str, message_id: str, at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def depth(self) -> tuple[int, datetime | None]:
        raise NotImplementedError  # SKELETON
