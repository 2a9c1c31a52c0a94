"""Was a chat message already taken in (as a ticket, or as part of one)? For intake on request — a reaction
or a "Create ticket" menu — which must not open a second ticket, nor a second thread, for one message."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.store.db import fetch_one


@dataclass(frozen=True)
class TakenIn:
    ticket: int | None  # the ticket the message opened or joined, when its log still names it


async def taken_in(conn: aiosqlite.Connection, platform: str, message_id: str) -> TakenIn | None:
    """None when the desk has never taken this message in."""
    seen = await fetch_one(conn, "SELECT 1 FROM inbound WHERE platform=? AND message_id=?", (platform, message_id))
    if seen is None:
        return None
    row = await fetch_one(
        conn,
        "SELECT ticket FROM ticket_messages WHERE author_platform=? AND platform_message_id=? ORDER BY id LIMIT 1",
        (platform, message_id),
    )
    return TakenIn(ticket=int(row["ticket"]) if row is not None else None)
