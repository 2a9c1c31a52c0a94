"""Shutting down: HTTP mode answers 503 (Slack retries the event elsewhere or later) once intake stops,
after finishing the events already acknowledged; Socket Mode disconnects from Slack."""

from __future__ import annotations

import asyncio
import contextlib

from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.knowledge import KnowledgeLibrary
from tests.adapters.slack.conftest import slack_settings
from tests.adapters.slack.harness import SlackDriver, payload
from tests.fakes.clock import FakeClock
from tests.fakes.patience import HANG
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlackApi


async def test_http_mode_answers_503_once_intake_stops(driver: SlackDriver) -> None:
    assert await driver.event(driver.message_event("UALICE", "DALICE", "1700000001.000100", "Sync is broken")) == 200
    await driver.adapter.stop_intake()  # returns once the acknowledged event is handled
    assert driver.adapter.listeners.busy == 0
    assert (await driver.desk.ticket(1)) is not None
    status, body = await driver.post(
        '{"type": "event_callback", "event": {"type": "message"}}', "application/json", retry=1
    )
    assert status == 503 and "shutting down" in body
    assert not driver.adapter.connected
    await driver.worker.drain()  # the Web API client still works: the outbox can be flushed
    assert "we've opened ticket #1" in driver.api.in_thread("DALICE", "1700000001.000100")[0].text


async def test_socket_mode_disconnects_on_stop(
    slack_api: FakeSlackApi, db: Store, knowledge: KnowledgeLibrary, clock: FakeClock
) -> None:
    settings = slack_settings(slack_api.api_url, mode="socket")
    config = settings.adapters["slack"]
    assert isinstance(config, SlackConfig)
    adapter = SlackAdapter(config, Secrets(BOT_TOKEN, "", APP_TOKEN))
    desk = build_desk(settings, db, kb=knowledge, clock=clock)
    worker = DeliveryWorker(db, {"slack": adapter.platform}, clock)
    serving = asyncio.create_task(adapter.serve(desk))
    try:
        await slack_api.connected()
        await slack_api.send_envelope("events_api", payload("message_im"), "env-1")
        assert adapter.connected
        await adapter.stop_intake()
        assert not adapter.connected
        async with asyncio.timeout(HANG):  # the fake notices the websocket close within a few loop turns
            while slack_api.sockets:
                await asyncio.sleep(0.01)
        await worker.drain()
        assert "we've opened ticket #1" in slack_api.in_thread("DALICE", "1699990000.000100")[0].text
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
