"""Socket Mode catch-up: what customers write in an intake channel while the app has no connection is read back
with conversations.history when it connects again, and taken in exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.knowledge import KnowledgeLibrary
from tests.adapters.slack.conftest import slack_settings
from tests.adapters.slack.harness import SlackDriver
from tests.fakes.clock import FakeClock
from tests.fakes.patience import until
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlackApi

ACK = "we've opened ticket #"


@contextlib.asynccontextmanager
async def socket_mode(
    slack_api: FakeSlackApi, db: Store, knowledge: KnowledgeLibrary, clock: FakeClock, **slack: Any
) -> AsyncIterator[SlackDriver]:
    settings = slack_settings(slack_api.api_url, mode="socket", **slack)
    config = settings.adapters["slack"]
    assert isinstance(config, SlackConfig)
    adapter = SlackAdapter(config, Secrets(BOT_TOKEN, "", APP_TOKEN))
    desk = build_desk(settings, db, kb=knowledge, clock=clock, role_sources=adapter.role_sources)
    worker = DeliveryWorker(db, {"slack": adapter.platform}, clock)
    serving = asyncio.create_task(adapter.serve(desk))
    try:
        await slack_api.connected()
        await until(lambda: adapter.catch_up is not None and adapter.catch_up.runs >= 1, "the first catch-up")
        async with aiohttp.ClientSession() as session:
            yield SlackDriver(slack_api, adapter, desk, worker, "", session)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def reconnected(driver: SlackDriver) -> None:
    """Slack dropped the connection; the app connects again and reads back what it missed."""
    catch_up = driver.adapter.catch_up
    assert catch_up is not None
    runs = catch_up.runs
    await driver.api.drop_socket()
    await driver.api.connected()
    await until(lambda: catch_up.runs > runs, "the catch-up after reconnecting")
    await driver.settle()


def acks(slack_api: FakeSlackApi, ts: str) -> list[str]:
    return [text for text in slack_api.texts("CSUPPORT", ts) if ACK in text]


def later(clock: FakeClock, seconds: float) -> str:
    return f"{clock.now().timestamp() + seconds:.6f}"


async def test_messages_written_while_disconnected_are_taken_in_once_after_reconnecting(
    slack_api: FakeSlackApi, db: Store, knowledge: KnowledgeLibrary, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with socket_mode(slack_api, db, knowledge, clock) as driver:
        first = slack_api.say("UALICE", "CSUPPORT", "The CSV export is empty", later(clock, 1))
        await slack_api.send_envelope("events_api", first, "env-1")
        await driver.settle()
        assert len(acks(slack_api, first["event"]["ts"])) == 1

        caplog.set_level(logging.INFO, logger="adapters.slack.catch_up")
        reconnect = slack_api.hold("apps.connections.open")
        await slack_api.drop_socket()  # while there is no connection, three customers write
        missed = [
            slack_api.say(user, "CSUPPORT", text, later(clock, 10 + n))["event"]["ts"]
            for n, (user, text) in enumerate(
                [("UCAROL", "Invoices are blank"), ("UDAVE", "SSO fails"), ("UALICE", "Also the logo")]
            )
        ]
        reconnect.set()
        await slack_api.connected()
        catch_up = driver.adapter.catch_up
        assert catch_up is not None
        await until(lambda: catch_up.runs >= 2, "the catch-up after reconnecting")
        await driver.settle()
        assert [len(acks(slack_api, ts)) for ts in missed] == [1, 1, 1]
        assert len(slack_api.top_level("CQUEUE")) == 4  # one card per ticket
        assert [r.getMessage() for r in caplog.records if "caught up" in r.getMessage()] == [
            "Slack: caught up: 3 message(s) written while disconnected taken in, from 1 of 1 intake channel(s) "
            "read back (3 message(s) read; at most 500 messages and 24 h back each)"
        ]

        # the event of one of them arrives after all (Slack's retry), and the connection drops once more
        late = slack_api.say("UCAROL", "CSUPPORT", "Invoices are blank", missed[0])
        await slack_api.send_envelope("events_api", late, "env-2")
        await reconnected(driver)
        assert [len(acks(slack_api, ts)) for ts in missed] == [1, 1, 1]
        assert len(slack_api.top_level("CQUEUE")) == 4
        assert catch_up.last is not None and catch_up.last.recovered == 0


async def test_a_restart_reads_back_at_most_the_bound(
    slack_api: FakeSlackApi, db: Store, knowledge: KnowledgeLibrary, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with socket_mode(slack_api, db, knowledge, clock, catch_up_messages=2) as driver:
        first = slack_api.say("UALICE", "CSUPPORT", "The CSV export is empty", later(clock, 1))
        await slack_api.send_envelope("events_api", first, "env-1")
        await driver.settle()
    # the app is stopped; three customers write; it starts again
    missed = [
        slack_api.say(user, "CSUPPORT", f"Problem {n}", later(clock, 10 + n))["event"]["ts"]
        for n, user in enumerate(["UCAROL", "UDAVE", "UERIN"])
    ]
    async with socket_mode(slack_api, db, knowledge, clock, catch_up_messages=2) as driver:
        await driver.settle()
        assert [len(acks(slack_api, ts)) for ts in missed] == [0, 1, 1]  # Slack pages newest first: the latest two
        assert any("read back the latest 2 messages in CSUPPORT" in r.getMessage() for r in caplog.records)
