"""Fixtures: the fake Slack Web API, and the real Slack adapter (bolt's aiohttp server) in front of a desk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from bot.bootstrap import build_desk
from bot.config import Settings, settings_from_dict
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.knowledge import KnowledgeLibrary
from tests.adapters.slack.harness import SIGNING_SECRET, SlackDriver
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlackApi

USERS = {"UALICE": "Alice", "UCAROL": "Carol", "UDAVE": "Dave", "UBOB": "Bob", "UERIN": "Erin", "UDANA": "Dana"}
CHANNELS = {
    "CQUEUE": {"id": "CQUEUE", "name": "support-queue", "is_member": True},
    "CLEADS": {"id": "CLEADS", "name": "support-leads", "is_member": True},
    "CSUPPORT": {"id": "CSUPPORT", "name": "support", "is_member": True},
}


def slack_settings(api_url: str, **slack: Any) -> Settings:
    raw = {
        "roles": {"agents": ["slack:UBOB", "slack:UERIN"], "leads": ["slack:UDANA"]},
        "slack": {
            "enabled": True,
            "mode": "http",
            "host": "127.0.0.1",
            "port": 0,
            "api_base_url": api_url,
            "intake_channels": ["CSUPPORT"],
            "queue_channel": "CQUEUE",
            "leads_channel": "CLEADS",
            **slack,
        },
    }
    return settings_from_dict(raw, {"slack": SlackConfig})


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi(users=dict(USERS), channels={k: dict(v) for k, v in CHANNELS.items()})
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def driver(
    slack_api: FakeSlackApi, db: Store, knowledge: KnowledgeLibrary, clock: FakeClock
) -> AsyncIterator[SlackDriver]:
    settings = slack_settings(slack_api.api_url)
    config = settings.adapters["slack"]
    assert isinstance(config, SlackConfig)
    adapter = SlackAdapter(config, Secrets(BOT_TOKEN, SIGNING_SECRET, APP_TOKEN))
    desk = build_desk(settings, db, kb=knowledge, clock=clock, role_sources=adapter.role_sources)
    adapter.attach(desk)
    port = await adapter.start_http("127.0.0.1", 0)
    worker = DeliveryWorker(db, {"slack": adapter.platform}, clock)
    async with aiohttp.ClientSession() as session:
        yield SlackDriver(slack_api, adapter, desk, worker, f"http://127.0.0.1:{port}", session)
    await adapter.close()
