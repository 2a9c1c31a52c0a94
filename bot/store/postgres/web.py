"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.domain.refs import UserRef
from bot.domain.ticket import Ticket
from bot.records import (
    LinkRow,
    QueueFilter,
    SessionRow,
)


class PgWeb:
    """Implements `bot.repositories.WebRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def insert_link(self, link_id: str, user: UserRef, at: datetime, expires_at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def get_link(self, link_id: str) -> LinkRow | None:
        raise NotImplementedError  # SKELETON

    async def use_link(self, link_id: str, at: datetime) -> bool:
        raise NotImplementedError  # SKELETON

    async def insert_session(
        self, token_hash: str, user: UserRef, csrf: str, at: datetime, expires_at: datetime, user_agent: str
    ) -> None:
        raise NotImplementedError  # SKELETON

    async def get_session(self, token_hash: str) -> SessionRow | None:
        raise NotImplementedError  # SKELETON

    async def sessions(self, user: UserRef | None = None) -> list[SessionRow]:
        raise NotImplementedError  # SKELETON

    async def revoke(self, at: datetime, *, token_hash: str | None = None, user: UserRef | None = None) -> int:
        raise NotImplementedError  # SKELETON

    async def queue_page(self, f: QueueFilter) -> tuple[list[Ticket], int]:
        raise NotImplementedError  # SKELETON

    async def sla_flags(self, numbers: Sequence[int]) -> dict[int, str]:
        raise NotImplementedError  # SKELETON

    async def change_stamp(self) -> str:
        raise NotImplementedError  # SKELETON

    async def choices(self) -> tuple[list[str], list[tuple[str, str]], list[str]]:
        raise NotImplementedError  # SKELETON
