"""Webhook deliveries as the outbox holds them (platform 'webhook'): the log and manual redelivery."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.outbound import Destination, Message
from bot.store import outbox
from bot.store.db import fetch_all, fetch_one, from_db, opt_from_db

PLATFORM = "webhook"


@dataclass(frozen=True)
class Delivery:
    id: int
    endpoint: str
    event_type: str
    event_id: str
    ticket: int | None
    state: str  # pending | delivered | failed
    attempts: int
    last_error: str | None
    answer: str | None  # e.g. "HTTP 200" once delivered
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime
    body: str


def _delivery(r: aiosqlite.Row) -> Delivery:
    body = Message.model_validate_json(r["payload"]).text
    head = json.loads(body)
    return Delivery(
        id=r["id"],
        endpoint=Destination.model_validate_json(r["destination"]).channel,
        event_type=str(head.get("type", "")),
        event_id=str(head.get("id", "")),
        ticket=r["ticket"],
        state=r["state"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        answer=r["delivered_id"],
        created_at=from_db(r["created_at"]),
        delivered_at=opt_from_db(r["delivered_at"]),
        next_attempt_at=from_db(r["next_attempt_at"]),
        body=body,
    )


async def list_deliveries(conn: aiosqlite.Connection, *, failed_only: bool = False, limit: int = 50) -> list[Delivery]:
    """Newest first."""
    where = "platform=?" + (" AND state='failed'" if failed_only else "")
    rows = await fetch_all(conn, f"SELECT * FROM outbox WHERE {where} ORDER BY id DESC LIMIT ?", (PLATFORM, limit))
    return [_delivery(r) for r in rows]


async def get_delivery(conn: aiosqlite.Connection, delivery_id: int) -> Delivery | None:
    row = await fetch_one(conn, "SELECT * FROM outbox WHERE id=? AND platform=?", (delivery_id, PLATFORM))
    return _delivery(row) if row else None


async def requeue(conn: aiosqlite.Connection, delivery_id: int, at: datetime) -> int | None:
    """A new pending delivery with the same body (so the same `webhook-id`); the old row stays as it was."""
    row = await fetch_one(conn, "SELECT * FROM outbox WHERE id=? AND platform=?", (delivery_id, PLATFORM))
    if row is None:
        return None
    return await outbox.enqueue(
        conn,
        Destination.model_validate_json(row["destination"]),
        Message.model_validate_json(row["payload"]),
        at=at,
        ticket=row["ticket"],
    )


async def pending_row(conn: aiosqlite.Connection, delivery_id: int) -> outbox.OutboxRow | None:
    rows = await fetch_all(conn, "SELECT * FROM outbox WHERE id=? AND state='pending'", (delivery_id,))
    return outbox.row_from_db(rows[0]) if rows else None


__all__ = ["Delivery", "get_delivery", "list_deliveries", "pending_row", "requeue"]
