"""Webhook deliveries as the outbox holds them (platform 'webhook'): the log and manual redelivery."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.outbound import Destination, Message
from bot.records import Delivery, OutboxRow
from bot.store.rows import delivery_from_row
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db
from bot.store.sqlite.outbox import SqliteOutbox, row_from_db

PLATFORM = "webhook"


def _delivery(r: sqlite3.Row) -> Delivery:
    return delivery_from_row(
        r,
        payload=Message.model_validate_json(r["payload"]),
        destination=Destination.model_validate_json(r["destination"]),
        moment=from_db,
    )


class SqliteWebhookDeliveries:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def list_deliveries(self, *, failed_only: bool = False, limit: int = 50) -> list[Delivery]:
        """Newest first."""
        where = "platform=?" + (" AND state='failed'" if failed_only else "")
        rows = fetch_all(self.conn, f"SELECT * FROM outbox WHERE {where} ORDER BY id DESC LIMIT ?", (PLATFORM, limit))
        return [_delivery(r) for r in rows]

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        row = fetch_one(self.conn, "SELECT * FROM outbox WHERE id=? AND platform=?", (delivery_id, PLATFORM))
        return _delivery(row) if row else None

    async def requeue(self, delivery_id: int, at: datetime) -> int | None:
        """A new pending delivery with the same body (so the same `webhook-id`); the old row stays as it was."""
        row = fetch_one(self.conn, "SELECT * FROM outbox WHERE id=? AND platform=?", (delivery_id, PLATFORM))
        if row is None:
            return None
        return await SqliteOutbox(self.conn).enqueue(
            Destination.model_validate_json(row["destination"]),
            Message.model_validate_json(row["payload"]),
            at=at,
            ticket=row["ticket"],
        )

    async def pending_row(self, delivery_id: int) -> OutboxRow | None:
        rows = fetch_all(self.conn, "SELECT * FROM outbox WHERE id=? AND state='pending'", (delivery_id,))
        return row_from_db(rows[0]) if rows else None
