"""Socket Mode: the same app over a local websocket that plays Slack's envelope protocol
(`apps.connections.open` → `hello` → envelopes, each acknowledged by `envelope_id`)."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.knowledge import KnowledgeLibrary
from tests.adapters.slack.conftest import slack_settings
from tests.adapters.slack.harness import SlackDriver, payload
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlackApi


async def test_socket_mode_envelopes_are_acked_and_handled(
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
        assert [c.method for c in slack_api.calls[:1]] == ["auth.test"]
        assert slack_api.calls_to("apps.connections.open")
        async with aiohttp.ClientSession() as session:
            driver = SlackDriver(slack_api, adapter, desk, worker, "", session)
            ack = await slack_api.send_envelope("events_api", payload("message_im"), "env-1")
            assert ack["envelope_id"] == "env-1"
            await driver.settle()
            [posted] = slack_api.in_thread("DALICE", "1699990000.000100")
            assert "we've opened ticket #1" in posted.text

            command = payload("slash_command", text="claim 1", response_url=slack_api.response_url("sock"))
            ack = await slack_api.send_envelope("slash_commands", command, "env-2")
            assert ack["envelope_id"] == "env-2"
            await driver.settle()
            assert slack_api.answers("sock")[0].startswith("You claimed #1")
            assert slack_api.texts("DALICE", "1699990000.000100")[-1] == "Bob is looking at this."

            # Slack re-sends an envelope it did not see acknowledged: nothing happens twice
            await slack_api.send_envelope("events_api", payload("message_im"), "env-3")
            await driver.settle()
            assert len(slack_api.top_level("CQUEUE")) == 1
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
