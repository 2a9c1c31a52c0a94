"""Satisfaction surveys: asked once per ticket, rated 1–5 with an optional comment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.store.db import fetch_one, opt_from_db, to_db

Conn = aiosqlite.Connection


@dataclass(frozen=True)
class Survey:
    ticket: int
    rating: int | None
    comment: str | None
    rated_at: datetime | None


async def ask(conn: Conn, ticket: int, at: datetime) -> bool:
    """Record that the survey goes out; False when this ticket was already asked (never twice)."""
    cur = await conn.execute("INSERT OR IGNORE INTO csat (ticket, asked_at) VALUES (?, ?)", (ticket, to_db(at)))
    return cur.rowcount == 1


async def get(conn: Conn, ticket: int) -> Survey | None:
    row = await fetch_one(conn, "SELECT * FROM csat WHERE ticket=?", (ticket,))
    if row is None:
        return None
    return Survey(row["ticket"], row["rating"], row["comment"], opt_from_db(row["rated_at"]))


async def rate(conn: Conn, ticket: int, rating: int, comment: str | None, at: datetime) -> None:
    await conn.execute(
        "UPDATE csat SET rating=?, comment=COALESCE(?, comment), rated_at=? WHERE ticket=?",
        (rating, comment, to_db(at), ticket),
    )
