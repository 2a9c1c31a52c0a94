"""The outbox: posts written in the same transaction as the change that caused them.

A delivery worker sends them after commit, in order per `ordering_key`. Queue-card posts are coalesced:
while a card post is still waiting, a newer rendering of the card replaces its payload (and bumps
`version`, so a delivery that raced with the change is not marked done and the newer card goes out too).
Not while an attempt at it may have posted (`sending_since`): that post is looked for by its nonce and
content, which a newer rendering would change, so the newer card is queued behind it and becomes an edit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.outbound import Destination, DestinationKind, Message
from bot.records import OutboxRow
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, opt_from_db, to_db


def _in(platforms: Sequence[str]) -> str:
    return ",".join("?" * len(platforms))


def row_from_db(r: sqlite3.Row) -> OutboxRow:
    return OutboxRow(
        id=r["id"],
        destination=Destination.model_validate_json(r["destination"]),
        message=Message.model_validate_json(r["payload"]),
        ticket=r["ticket"],
        log_message=r["message"],
        version=r["version"],
        attempts=r["attempts"],
        created_at=from_db(r["created_at"]),
        sending_since=opt_from_db(r["sending_since"]),
    )


#: the ids of the posts a platform was sent since a moment (`ix_outbox_delivered`, schema 17)
DELIVERED_IDS_SQL = "SELECT delivered_id FROM outbox WHERE state='delivered' AND platform=? AND delivered_at >= ?"


def due_sql(now: datetime, *, platforms: Sequence[str], limit: int) -> tuple[str, list[Any]]:
    """The statement `due` runs (bench/queries.py times it): pending rows in id order (`ix_outbox_due`), each
    kept when it is due and no older pending row of its key (of these platforms) exists — a head — so the
    read stops at `limit` heads instead of grouping and sorting every pending row first."""
    marks = _in(platforms)
    return (
        f"""SELECT o.* FROM outbox o
            WHERE o.state='pending' AND o.platform IN ({marks}) AND o.next_attempt_at <= ?
              AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state='pending' AND p.ordering_key = o.ordering_key
                              AND p.id < o.id AND p.platform IN ({marks}))
            ORDER BY o.id LIMIT ?""",
        [*platforms, to_db(now), *platforms, limit],
    )


class SqliteOutbox:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def enqueue(
        self,
        destination: Destination,
        message: Message,
        *,
        at: datetime,
        ticket: int | None = None,
        log_message: int | None = None,
        coalesce: bool = True,
    ) -> int:
        payload = message.model_dump_json()
        key = destination.ordering_key
        if destination.kind in (DestinationKind.CARD, DestinationKind.INCIDENT_CARD) and coalesce:
            row = fetch_one(
                self.conn,
                "UPDATE outbox SET payload=?, version=version+1 WHERE ordering_key=? AND state='pending'"
                " AND sending_since IS NULL AND json_extract(destination, '$.kind')=? RETURNING id",
                (payload, key, destination.kind.value),
            )
            if row:
                return int(row[0])
        cur = self.conn.execute(
            "INSERT INTO outbox (ordering_key, platform, destination, payload, ticket, message, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                destination.platform,
                destination.model_dump_json(),
                payload,
                ticket,
                log_message,
                to_db(at),
                to_db(at),
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def due(self, now: datetime, *, platforms: Sequence[str], limit: int = 200) -> list[OutboxRow]:
        """The oldest pending row of each ordering key, if it is due: later rows wait their turn."""
        if not platforms:
            return []
        sql, args = due_sql(now, platforms=platforms, limit=limit)
        return [row_from_db(r) for r in fetch_all(self.conn, sql, args)]

    async def next_attempt_at(self, *, platforms: Sequence[str]) -> datetime | None:
        if not platforms:
            return None
        row = fetch_one(
            self.conn,
            f"SELECT MIN(next_attempt_at) FROM outbox WHERE state='pending' AND platform IN ({_in(platforms)})",
            tuple(platforms),
        )
        return from_db(row[0]) if row and row[0] else None

    async def pending_count(self) -> int:
        row = fetch_one(self.conn, "SELECT COUNT(*) FROM outbox WHERE state='pending'")
        return int(row[0]) if row else 0

    async def mark_sending(self, row: OutboxRow, at: datetime) -> None:
        """The post is being handed to the platform: until its answer is recorded, its outcome is unknown. An
        earlier attempt still unknown keeps its moment: the post may be that attempt's."""
        self.conn.execute("UPDATE outbox SET sending_since=COALESCE(sending_since, ?) WHERE id=?", (to_db(at), row.id))

    async def mark_delivered(self, row: OutboxRow, at: datetime, delivered_id: str) -> bool:
        """False when the row changed while it was being sent (a newer card): it stays pending."""
        cur = self.conn.execute(
            "UPDATE outbox SET state='delivered', delivered_at=?, delivered_id=?, attempts=attempts+1,"
            " last_error=NULL, sending_since=NULL WHERE id=? AND version=?",
            (to_db(at), delivered_id, row.id, row.version),
        )
        return cur.rowcount == 1  # the trigger `outbox_delivery_logged` updates the message log

    async def mark_retry(self, row: OutboxRow, next_at: datetime, error: str, *, outcome_unknown: bool = False) -> None:
        """Try again at `next_at`. With `outcome_unknown` (no answer came) the post may exist: the next attempt
        looks for it first."""
        self.conn.execute(
            "UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=?,"
            " sending_since=CASE WHEN ? THEN sending_since END WHERE id=?",
            (to_db(next_at), error, outcome_unknown, row.id),
        )

    async def mark_failed(self, row: OutboxRow, error: str) -> bool:
        """False when the row is no longer pending (another attempt at it failed or delivered it first)."""
        cur = self.conn.execute(
            "UPDATE outbox SET state='failed', attempts=attempts+1, last_error=?, sending_since=NULL"
            " WHERE id=? AND state='pending'",
            (error, row.id),
        )
        return cur.rowcount == 1  # the trigger `outbox_delivery_logged` marks the message log

    async def delivered_ids(self, platform: str, since: datetime) -> set[str]:
        rows = fetch_all(self.conn, DELIVERED_IDS_SQL, (platform, to_db(since)))
        return {str(r[0]) for r in rows if r[0] is not None}
