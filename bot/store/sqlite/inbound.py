"""Was a chat message already taken in (as a ticket, or as part of one)? For intake on request — a reaction
or a "Create ticket" menu — which must not open a second ticket, nor a second thread, for one message."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.records import TakenIn, WaitingMessage
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, opt_from_db, to_db


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

    async def accept(self, platform: str, message_id: str, payload: str, at: datetime) -> bool:
        """Keep a message until it is handled. False when it was handled already or is waiting already
        (a redelivery): nothing to do."""
        if fetch_one(self.conn, "SELECT 1 FROM inbound WHERE platform=? AND message_id=?", (platform, message_id)):
            return False
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO inbox (platform, message_id, payload, received_at) VALUES (?, ?, ?, ?)",
            (platform, message_id, payload, to_db(at)),
        )
        return cur.rowcount == 1

    async def settle(self, platform: str, message_id: str) -> None:
        """The message is being handled in this unit of work: it leaves the inbox when the unit commits."""
        self.conn.execute("DELETE FROM inbox WHERE platform=? AND message_id=?", (platform, message_id))

    async def waiting(self, limit: int = 500) -> list[WaitingMessage]:
        """Messages kept but not handled yet, in arrival order; each read counts as an attempt."""
        rows = fetch_all(
            self.conn, "SELECT id, payload, received_at, attempts FROM inbox ORDER BY id LIMIT ?", (limit,)
        )
        if rows:
            marks = ",".join("?" * len(rows))
            self.conn.execute(f"UPDATE inbox SET attempts = attempts + 1 WHERE id IN ({marks})", [r[0] for r in rows])
        return [WaitingMessage(r["payload"], from_db(r["received_at"]), r["attempts"] + 1) for r in rows]

    async def give_up(self, platform: str, message_id: str, at: datetime) -> None:
        """A message that failed every attempt: recorded as handled (the log says so), so it stops coming back."""
        self.conn.execute("DELETE FROM inbox WHERE platform=? AND message_id=?", (platform, message_id))
        self.conn.execute(
            "INSERT OR IGNORE INTO inbound (platform, message_id, received_at) VALUES (?, ?, ?)",
            (platform, message_id, to_db(at)),
        )

    async def depth(self) -> tuple[int, datetime | None]:
        """How many messages wait, and since when the oldest has."""
        row = fetch_one(self.conn, "SELECT COUNT(*), MIN(received_at) FROM inbox")
        return (int(row[0]), opt_from_db(row[1])) if row else (0, None)
