"""Start webhook delivery next to the bot, when `[[webhooks]]` lists endpoints.

The delivery worker is drained on SIGTERM together with the chat outbox (`adapters/lifecycle.py`): what
is due is sent within `[ops] drain_seconds`, the rest stays pending and is sent by the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from adapters.webhooks.sender import WebhookSender, load_endpoints, make_worker, serve
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.ports import Clock, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookDelivery:
    """The running webhook worker: `lifecycle.serve` stops it with the chat worker, within the drain budget."""

    worker: DeliveryWorker
    task: asyncio.Task[None]


@contextlib.asynccontextmanager
async def webhook_delivery(settings: Settings, db: Store, clock: Clock) -> AsyncIterator[WebhookDelivery | None]:
    """Deliver webhooks in the background while the body runs (None when no endpoint is configured).
    Raises `WebhookSetupError` (one line with the fix) before starting when a secret is missing or malformed.
    Leaving without a drain (the console, an error) stops it at once; undelivered rows stay pending."""
    if not settings.webhooks:
        yield None
        return
    sender = WebhookSender(load_endpoints(settings.webhooks), clock)
    worker = make_worker(db, sender, clock)
    names = ", ".join(settings.webhooks[i].label for i in range(len(settings.webhooks)))
    log.info("webhooks: delivering to %s", names)
    task = asyncio.create_task(serve(worker, sender), name="webhooks")
    try:
        yield WebhookDelivery(worker, task)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
