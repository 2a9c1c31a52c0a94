"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import (
    Delivery,
    OutboxRow,
)


class PgWebhookDeliveries:
    """Implements `bot.repositories.WebhookDeliveriesRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def list_deliveries(self, *, failed_only: bool = False, limit: int = 50) -> list[Delivery]:
        raise NotImplementedError  # SKELETON

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        raise NotImplementedError  # SKELETON

    async def requeue(self, delivery_id: int, at: datetime) -> int | None:
        raise NotImplementedError  # SKELETON

    async def pending_row(self, delivery_id: int) -> OutboxRow | None:
        raise NotImplementedError  # SKELETON
