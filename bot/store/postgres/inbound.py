"""Idempotent intake and the durable inbox on PostgreSQL.

Several processes may read the same waiting message (one after a crash of the one that kept it, say); the
unit that handles it deletes it from the inbox and claims its id in `inbound`, so the second unit blocks on
the first's row locks and then finds the id taken — one ticket, one acknowledgement.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import TakenIn, WaitingMessage


class PgInbound:
    """Implements `bot.repositories.InboundRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing

    async def taken_in(self, platform: str, message_id: str) -> TakenIn | None:
        row = await self.conn.fetchrow(
            "SELECT (SELECT ticket FROM ticket_messages WHERE author_platform=$1 AND platform_message_id=$2"
            " ORDER BY id LIMIT 1) AS ticket FROM inbound WHERE platform=$1 AND message_id=$2",
            platform,
            message_id,
        )
        if row is None:
            return None
        return TakenIn(ticket=int(row["ticket"]) if row["ticket"] is not None else None)

    async def claim_inbound(self, platform: str, message_id: str, at: datetime) -> bool:
        """True the first time a platform message id is seen; False for a re-delivery (waits for a unit
        claiming the same id in another process to end, then answers)."""
        inserted = await self.conn.fetchval(
            "INSERT INTO inbound (platform, message_id, received_at) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING true",
            platform,
            message_id,
            at,
        )
        return bool(inserted)

    async def accept(self, platform: str, message_id: str, payload: str, at: datetime) -> bool:
        inserted = await self.conn.fetchval(
            "INSERT INTO inbox (platform, message_id, payload, received_at)"
            " SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM inbound WHERE platform=$1 AND message_id=$2)"
            " ON CONFLICT DO NOTHING RETURNING true",
            platform,
            message_id,
            payload,
            at,
        )
        return bool(inserted)

    async def settle(self, platform: str, message_id: str) -> None:
        await self.conn.execute("DELETE FROM inbox WHERE platform=$1 AND message_id=$2", platform, message_id)

    async def waiting(self, limit: int = 500) -> list[WaitingMessage]:
        """Messages kept but not handled yet, in arrival order; each read counts as an attempt. Rows another
        process is handling right now (locked) are skipped."""
        rows = await self.conn.fetch(
            "WITH w AS (SELECT id FROM inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
            " UPDATE inbox SET attempts = inbox.attempts + 1 FROM w WHERE inbox.id = w.id"
            " RETURNING inbox.id, inbox.payload, inbox.received_at, inbox.attempts",
            limit,
        )
        rows = sorted(rows, key=lambda r: r["id"])
        return [WaitingMessage(r["payload"], r["received_at"], r["attempts"]) for r in rows]

    async def give_up(self, platform: str, message_id: str, at: datetime) -> None:
        await self.settle(platform, message_id)
        await self.claim_inbound(platform, message_id, at)

    async def depth(self) -> tuple[int, datetime | None]:
        row = await self.conn.fetchrow("SELECT count(*), min(received_at) FROM inbox")
        return (int(row[0]), row[1]) if row else (0, None)
