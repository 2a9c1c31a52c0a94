"""A customer's latest ticket, for messages that belong to a conversation rather than open one ("thanks!")."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.domain.refs import UserRef
from bot.domain.ticket import Ticket
from bot.store.sqlite.connection import fetch_one, to_db
from bot.store.sqlite.tickets import _ticket


class SqliteRecentTickets:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def latest_active(self, customer: UserRef) -> Ticket | None:
        """The customer's most recently updated ticket that is not resolved or closed."""
        row = fetch_one(
            self.conn,
            "SELECT * FROM tickets WHERE customer_platform=? AND customer_id=?"
            " AND status NOT IN ('resolved', 'closed') ORDER BY updated_at DESC, number DESC LIMIT 1",
            (customer.platform, customer.id),
        )
        return _ticket(row) if row else None

    async def latest_resolved_since(self, customer: UserRef, since: datetime) -> Ticket | None:
        """The customer's most recently resolved ticket, resolved (and still resolved or closed) at `since` or later."""
        row = fetch_one(
            self.conn,
            "SELECT * FROM tickets WHERE customer_platform=? AND customer_id=?"
            " AND status IN ('resolved', 'closed') AND resolved_at >= ? ORDER BY resolved_at DESC, number DESC LIMIT 1",
            (customer.platform, customer.id, to_db(since)),
        )
        return _ticket(row) if row else None
