"""SIGTERM drains the webhook delivery worker with the chat outbox (`[ops] drain_seconds`): a delivery that
falls due within the budget is sent before `serve` returns; one due later stays pending for the next start."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
from collections.abc import Iterator

import pytest

from adapters import lifecycle
from adapters.webhooks.runtime import webhook_delivery
from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.ports import Store, SystemClock
from bot.scheduler import Scheduler
from tests.conftest import ALICE, CAROL, dm, make_settings
from tests.fakes.patience import until
from tests.fakes.platform import RecordingPlatform
from tests.fakes.webhook_receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"ThreadDesk drain test key, 32 b!").decode()
DRAIN = 6.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


async def test_sigterm_sends_the_webhooks_due_within_the_budget_and_keeps_the_rest(
    receiver: Receiver, db: Store, platform: RecordingPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TD_DRAIN_SECRET", SECRET)
    hook = {"name": "tracker", "url": receiver.url, "events": ["ticket.created"], "secret_env": "TD_DRAIN_SECRET"}
    settings = make_settings(kb={"suggestions": 0}, ops={"drain_seconds": DRAIN}, webhooks=[hook])
    clock = SystemClock()
    desk = build_desk(settings, db, clock=clock)
    worker = DeliveryWorker(db, {platform.name: platform}, clock)
    # ticket 1's event is refused once and may be retried after a second; ticket 2's only after an hour
    receiver.answer((503, {"Retry-After": "1"}), (503, {"Retry-After": "3600"}))
    async with webhook_delivery(settings, db, clock) as hooks:
        assert hooks is not None
        serving = asyncio.create_task(
            lifecycle.serve(settings, desk, worker, Scheduler(desk.ctx), [], background=[(hooks.worker, hooks.task)])
        )
        await desk.receive(dm(ALICE, "The export button does nothing", message_id="a1"))
        await until(lambda: len(receiver.requests) == 1, "ticket 1's first attempt")
        await desk.receive(dm(CAROL, "My invoice is missing", message_id="c1"))
        await until(lambda: len(receiver.requests) == 2, "ticket 2's first attempt")
        assert not receiver.accepted
        os.kill(os.getpid(), signal.SIGTERM)  # handled by the service loop, as in `threaddesk run`
        await serving
        # waiting for the delivery due in an hour would have been cut off at the deadline (and its grace)
        assert hooks.task.done() and not hooks.task.cancelled(), "the worker finished its drain; it was not cut off"

    [sent] = receiver.accepted  # the retry that fell due within the budget went out during the drain
    assert sent["data"]["ticket"]["number"] == 1
    async with db.reading() as uow:
        assert await uow.outbox.pending_count() == 1  # ticket 2's, for the next start
        states = {d.ticket: d.state for d in await uow.webhook_deliveries.list_deliveries()}
    assert states == {1: "delivered", 2: "pending"}
