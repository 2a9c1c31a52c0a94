"""Webhook deliveries are outbox rows, written in the same transaction as the change they report.

One row per endpoint and event; the ordering key is the endpoint and the ticket (or the incident), so the
delivery worker sends each endpoint a ticket's events strictly in order, and different tickets in parallel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.outbound import Destination, DestinationKind, Message
from bot.ports import UnitOfWork
from bot.webhooks.config import WebhookConfig
from bot.webhooks.payload import PLATFORM, envelope, new_id


def destination(endpoint: str, ticket: int | None, incident: int | None = None) -> Destination:
    if ticket is not None:
        thread: str | None = f"ticket-{ticket}"
    elif incident is not None:
        thread = f"incident-{incident}"
    else:
        thread = None
    return Destination(kind=DestinationKind.THREAD, platform=PLATFORM, channel=endpoint, thread=thread)


async def publish(
    uow: UnitOfWork,
    endpoints: Sequence[WebhookConfig],
    event_type: str,
    data: dict[str, Any],
    *,
    at: datetime,
    ticket: int | None = None,
    incident: int | None = None,
    internal: bool = False,
) -> int:
    """Queue `event_type` for every endpoint that wants it. Returns how many deliveries were queued.

    Internal content (notes) goes only to endpoints with `include_internal = true`. Every endpoint gets
    the same `id`, so a receiver subscribed twice can tell it is one event. An incident's events are
    ordered per endpoint and incident (`incident`), as a ticket's are per ticket.
    """
    wanted = [e for e in endpoints if e.wants(event_type) and (e.include_internal or not internal)]
    if not wanted:
        return 0
    body = envelope(event_type, data, at, new_id())
    for endpoint in wanted:
        await uow.outbox.enqueue(
            destination(endpoint.label, ticket, incident), Message(text=body), at=at, ticket=ticket
        )
    return len(wanted)
