"""Satisfaction surveys: asked once per ticket, rated 1–5 with an optional comment."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.records import Survey
from bot.store.sqlite.connection import fetch_one, opt_from_db, to_db


class SqliteCsat:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def ask(self, ticket: int, at: datetime) -> bool:
        """Record that the survey goes out; False when this ticket was already asked (never twice)."""
        cur = self.conn.execute("INSERT OR IGNORE INTO csat (ticket, asked_at) VALUES (?, ?)", (ticket, to_db(at)))
        return cur.rowcount == 1

    async def get(self, ticket: int) -> Survey | None:
        row = fetch_one(self.conn, "SELECT * FROM csat WHERE ticket=?", (ticket,))
        if row is None:
            return None
        return Survey(row["ticket"], row["rating"], row["comment"], opt_from_db(row["rated_at"]))

    async def rate(self, ticket: int, rating: int, comment: str | None, at: datetime) -> None:
        self.conn.execute(
            "UPDATE csat SET rating=?, comment=COALESCE(?, comment), rated_at=? WHERE ticket=?",
            (rating, comment, to_db(at), ticket),
        )
