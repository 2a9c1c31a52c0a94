"""Webhook deliveries as the outbox holds them (platform 'webhook'): the log and manual redelivery.

`destination` and `payload` are `jsonb`: the engine's codec hands them over as Python values, which the
models validate directly (SQLite's twin parses JSON text).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.outbound import Destination, Message
from bot.records import Delivery, OutboxRow
from bot.store.postgres.outbox import PgOutbox, row_from_db
from bot.store.rows import delivery_from_row

PLATFORM = "webhook"


def _delivery(r: asyncpg.Record) -> Delivery:
    return delivery_from_row(
        r, payload=Message.model_validate(r["payload"]), destination=Destination.model_validate(r["destination"])
    )


class PgWebhookDeliveries:
    """Implements `bot.repositories.WebhookDeliveriesRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def list_deliveries(self, *, failed_only: bool = False, limit: int = 50) -> list[Delivery]:
        """Newest first."""
        where = "platform = $1" + (" AND state = 'failed'" if failed_only else "")
        rows = await self.conn.fetch(f"SELECT * FROM outbox WHERE {where} ORDER BY id DESC LIMIT $2", PLATFORM, limit)
        return [_delivery(r) for r in rows]

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        row = await self.conn.fetchrow("SELECT * FROM outbox WHERE id = $1 AND platform = $2", delivery_id, PLATFORM)
        return _delivery(row) if row else None

    async def requeue(self, delivery_id: int, at: datetime) -> int | None:
        """A new pending delivery with the same body (so the same `webhook-id`); the old row stays as it was
        (so it is read without a lock). Queued through the outbox repository, which wakes the workers."""
        row = await self.conn.fetchrow("SELECT * FROM outbox WHERE id = $1 AND platform = $2", delivery_id, PLATFORM)
        if row is None:
            return None
        return await PgOutbox(self.conn, writing=self.writing).enqueue(
            Destination.model_validate(row["destination"]),
            Message.model_validate(row["payload"]),
            at=at,
            ticket=row["ticket"],
        )

    async def pending_row(self, delivery_id: int) -> OutboxRow | None:
        row = await self.conn.fetchrow("SELECT * FROM outbox WHERE id = $1 AND state = 'pending'", delivery_id)
        return row_from_db(row) if row else None
