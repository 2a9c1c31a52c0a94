"""Catch-up after downtime: how far the desk has read each conversation, and which conversations a customer
may still write in. An adapter reads back, at start and after a reconnect that lost its session, what was
written after the mark."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import Conversation

# a later position: longer (more digits before the point), or as long and after in byte order — Discord ids
# and Slack timestamps are decimal numbers without leading zeros. `COLLATE "C"` compares as SQLite does: the
# database's own collation may order punctuation (Slack's point) by other rules.
_LATER = (
    "length(excluded.position) > length(read_marks.position)"
    " OR (length(excluded.position) = length(read_marks.position)"
    ' AND excluded.position COLLATE "C" > read_marks.position COLLATE "C")'
)


class PgCatchUp:
    """Implements `bot.repositories.CatchUpRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def read_marks(self, platform: str) -> dict[str, str]:
        rows = await self.conn.fetch("SELECT channel, position FROM read_marks WHERE platform = $1", platform)
        return {row["channel"]: row["position"] for row in rows}

    async def advance(self, platform: str, marks: dict[str, str], at: datetime) -> None:
        if not marks:
            return
        await self.conn.executemany(
            "INSERT INTO read_marks (platform, channel, position, at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (platform, channel) DO UPDATE SET position = excluded.position, at = excluded.at"
            f" WHERE {_LATER}",
            [(platform, channel, position, at) for channel, position in marks.items()],
        )

    async def open_conversations(self, platform: str, limit: int) -> list[Conversation]:
        rows = await self.conn.fetch(
            "SELECT origin_channel, origin_thread, MIN(created_at) AS opened_at, MAX(updated_at) AS updated_at"
            " FROM tickets WHERE status IN ('new', 'open', 'pending', 'on_hold', 'resolved') AND customer_platform = $1"
            " GROUP BY origin_channel, origin_thread ORDER BY updated_at DESC LIMIT $2",
            platform,
            limit,
        )
        return [Conversation(row["origin_channel"], row["origin_thread"] or None, row["opened_at"]) for row in rows]
