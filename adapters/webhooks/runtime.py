"""Start webhook delivery next to the bot, when `[[webhooks]]` lists endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from adapters.webhooks.sender import WebhookSender, load_endpoints, make_worker, serve
from bot.config import Settings
from bot.ports import Clock, Store

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def webhook_delivery(settings: Settings, db: Store, clock: Clock) -> AsyncIterator[None]:
    """Deliver webhooks in the background while the body runs. Raises `WebhookSetupError` (one line with
    the fix) before starting when a secret is missing or malformed."""
    if not settings.webhooks:
        yield
        return
    sender = WebhookSender(load_endpoints(settings.webhooks), clock)
    worker = make_worker(db, sender, clock)
    names = ", ".join(settings.webhooks[i].label for i in range(len(settings.webhooks)))
    log.info("webhooks: delivering to %s", names)
    task = asyncio.create_task(serve(worker, sender), name="webhooks")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
