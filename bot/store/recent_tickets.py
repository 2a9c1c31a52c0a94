"""A customer's latest ticket, for messages that belong to a conversation rather than open one ("thanks!")."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.domain.refs import UserRef
from bot.domain.ticket import Ticket
from bot.store.db import fetch_one, to_db
from bot.store.tickets import get_ticket


async def latest_active(conn: aiosqlite.Connection, customer: UserRef) -> Ticket | None:
    """The customer's most recently updated ticket that is not resolved or closed."""
    row = await fetch_one(
        conn,
        "SELECT number FROM tickets WHERE customer_platform=? AND customer_id=?"
        " AND status NOT IN ('resolved', 'closed') ORDER BY updated_at DESC, number DESC LIMIT 1",
        (customer.platform, customer.id),
    )
    return await get_ticket(conn, int(row[0])) if row else None


async def latest_resolved_since(conn: aiosqlite.Connection, customer: UserRef, since: datetime) -> Ticket | None:
    """The customer's most recently resolved ticket, resolved (and still resolved or closed) at `since` or later."""
    row = await fetch_one(
        conn,
        "SELECT number FROM tickets WHERE customer_platform=? AND customer_id=?"
        " AND status IN ('resolved', 'closed') AND resolved_at >= ? ORDER BY resolved_at DESC, number DESC LIMIT 1",
        (customer.platform, customer.id, to_db(since)),
    )
    return await get_ticket(conn, int(row[0])) if row else None
