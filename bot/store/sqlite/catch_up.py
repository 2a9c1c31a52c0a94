"""Catch-up after downtime: how far the desk has read each conversation, and which conversations a customer
may still write in. An adapter reads back, at start and after a reconnect that lost its session, what was
written after the mark."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.records import Conversation
from bot.store.sqlite.connection import fetch_all, from_db, to_db

# a later position: longer (more digits before the point), or as long and after in text order — Discord ids
# and Slack timestamps are decimal numbers without leading zeros
_LATER = (
    "length(excluded.position) > length(read_marks.position)"
    " OR (length(excluded.position) = length(read_marks.position) AND excluded.position > read_marks.position)"
)


class SqliteCatchUp:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def read_marks(self, platform: str) -> dict[str, str]:
        rows = fetch_all(self.conn, "SELECT channel, position FROM read_marks WHERE platform = ?", (platform,))
        return {row["channel"]: row["position"] for row in rows}

    async def advance(self, platform: str, marks: dict[str, str], at: datetime) -> None:
        self.conn.executemany(
            "INSERT INTO read_marks (platform, channel, position, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (platform, channel) DO UPDATE SET position = excluded.position, at = excluded.at"
            f" WHERE {_LATER}",
            [(platform, channel, position, to_db(at)) for channel, position in marks.items()],
        )

    async def open_conversations(self, platform: str, limit: int) -> list[Conversation]:
        rows = fetch_all(
            self.conn,
            "SELECT origin_channel, origin_thread, MIN(created_at) AS opened_at, MAX(updated_at) AS updated_at"
            " FROM tickets WHERE status IN ('new', 'open', 'pending', 'on_hold', 'resolved') AND customer_platform = ?"
            " GROUP BY origin_channel, origin_thread ORDER BY updated_at DESC LIMIT ?",
            (platform, limit),
        )
        return [
            Conversation(row["origin_channel"], row["origin_thread"] or None, from_db(row["opened_at"])) for row in rows
        ]
