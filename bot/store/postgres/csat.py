"""Satisfaction surveys: asked once per ticket, rated 1–5 with an optional comment."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import Survey
from bot.store.postgres.tickets import locking


class PgCsat:
    """Implements `bot.repositories.CsatRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def ask(self, ticket: int, at: datetime) -> bool:
        """Record that the survey goes out; False when this ticket was already asked (never twice)."""
        asked = await self.conn.fetchval(
            "INSERT INTO csat (ticket, asked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING ticket", ticket, at
        )
        return asked is not None

    async def get(self, ticket: int) -> Survey | None:
        row = await self.conn.fetchrow("SELECT * FROM csat WHERE ticket=$1" + locking(self.writing), ticket)
        if row is None:
            return None
        return Survey(row["ticket"], row["rating"], row["comment"], row["rated_at"])

    async def rate(self, ticket: int, rating: int, comment: str | None, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE csat SET rating=$1, comment=COALESCE($2, comment), rated_at=$3 WHERE ticket=$4",
            rating,
            comment,
            at,
            ticket,
        )
