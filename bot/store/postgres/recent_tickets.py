"""A customer's latest ticket, for messages that belong to a conversation rather than open one ("thanks!").

A writing unit notes the message on the ticket it finds, so it reads it `FOR UPDATE` (see `tickets`)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.domain.refs import UserRef
from bot.domain.ticket import Ticket
from bot.store.postgres.tickets import OPEN, locking, ticket_from_row


class PgRecentTickets:
    """Implements `bot.repositories.RecentTicketsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def latest_active(self, customer: UserRef) -> Ticket | None:
        """The customer's most recently updated ticket that is not resolved or closed."""
        row = await self.conn.fetchrow(
            f"SELECT * FROM tickets WHERE customer_platform=$1 AND customer_id=$2 AND {OPEN}"
            " ORDER BY updated_at DESC, number DESC LIMIT 1" + locking(self.writing),
            customer.platform,
            customer.id,
        )
        return ticket_from_row(row) if row else None

    async def latest_resolved_since(self, customer: UserRef, since: datetime) -> Ticket | None:
        """The customer's most recently resolved ticket, resolved (and still resolved or closed) at `since` or later."""
        row = await self.conn.fetchrow(
            "SELECT * FROM tickets WHERE customer_platform=$1 AND customer_id=$2"
            " AND status IN ('resolved', 'closed') AND resolved_at >= $3"
            " ORDER BY resolved_at DESC, number DESC LIMIT 1" + locking(self.writing),
            customer.platform,
            customer.id,
            since,
        )
        return ticket_from_row(row) if row else None
