"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.domain.refs import UserRef
from bot.domain.ticket import Ticket


class PgRecentTickets:
    """Implements `bot.repositories.RecentTicketsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def latest_active(self, customer: UserRef) -> Ticket | None:
        raise NotImplementedError  # SKELETON

    async def latest_resolved_since(self, customer: UserRef, since: datetime) -> Ticket | None:
        raise NotImplementedError  # SKELETON
