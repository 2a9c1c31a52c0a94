"""Was a chat message already taken in (as a ticket, or as part of one)? For intake on request — a reaction
or a "Create ticket" menu — which must not open a second ticket, nor a second thread, for one message."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.records import TakenIn
from bot.store.sqlite.connection import fetch_one, to_db


class SqliteInbound:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def taken_in(self, platform: str, message_id: str) -> TakenIn | None:
        """None when the desk has never taken this message in."""
        seen = fetch_one(self.conn, "SELECT 1 FROM inbound WHERE platform=? AND message_id=?", (platform, message_id))
        if seen is None:
            return None
        row = fetch_one(
            self.conn,
            "SELECT ticket FROM ticket_messages WHERE author_platform=? AND platform_message_id=? ORDER BY id LIMIT 1",
            (platform, message_id),
        )
        return TakenIn(ticket=int(row["ticket"]) if row is not None else None)

    async def claim_inbound(self, platform: str, message_id: str, at: datetime) -> bool:
        """True the first time a platform message id is seen; False for a re-delivery."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO inbound (platform, message_id, received_at) VALUES (?, ?, ?)",
            (platform, message_id, to_db(at)),
        )
        return cur.rowcount == 1
