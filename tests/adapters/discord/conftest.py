"""A desk served over Discord: the real discord.py bot against the local fake Discord, a real SQLite file,
and the real delivery worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.config import DiscordConfig
from bot.bootstrap import build_desk
from bot.config import settings_from_dict
from bot.delivery import DeliveryWorker
from bot.ports import SystemClock
from bot.services.desk import Desk
from bot.store.db import Database
from kb.matcher import Matcher
from tests.fakes.discord_api import TOKEN, FakeDiscord, eventually


@dataclass
class World:
    fake: FakeDiscord
    config: DiscordConfig
    adapter: DiscordAdapter
    desk: Desk
    worker: DeliveryWorker
    intake: str
    queue: str
    leads: str
    alice: dict[str, Any]
    carol: dict[str, Any]
    bob: dict[str, Any]
    dana: dict[str, Any]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    serving: asyncio.Task[None] | None = None

    async def start_bot(self) -> None:
        identifies = self.fake.identifies
        self.serving = asyncio.create_task(self.adapter.serve(self.desk), name="discord")
        await eventually(
            lambda: self.fake.identifies > identifies and self.adapter.bot is not None and self.adapter.bot.is_ready(),
            what="the bot to connect",
        )

    async def stop_bot(self) -> None:
        if self.serving is not None:
            self.serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.serving
            self.serving = None

    async def restart_bot(self) -> None:
        await self.stop_bot()
        await self.start_bot()


def discord_config(fake: FakeDiscord, **overrides: Any) -> dict[str, Any]:
    return {"enabled": True, "api_base_url": fake.api_base_url, "guild_id": fake.guild_id, **overrides}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    yield server
    await server.stop()


@contextlib.asynccontextmanager
async def running_world(fake: FakeDiscord, db_path: Path, kb: Matcher, **overrides: Any) -> AsyncIterator[World]:
    intake, queue, leads = fake.text_channel("support"), fake.text_channel("support-queue"), fake.text_channel("leads")
    agents, team_leads = fake.role("Support"), fake.role("Leads")
    people = {name: fake.user(name) for name in ("Alice", "Carol")}
    bob, dana = fake.user("Bob", agents), fake.user("Dana", team_leads)
    raw = discord_config(
        fake,
        intake_channels=[intake],
        queue_channel=queue,
        leads_channel=leads,
        agent_roles=[agents],
        lead_roles=[team_leads],
        **overrides,
    )
    settings = settings_from_dict({"discord": raw, "intake": {"max_open_per_customer": 3}}, {"discord": DiscordConfig})
    config = settings.adapters["discord"]
    assert isinstance(config, DiscordConfig)
    adapter = DiscordAdapter(config, TOKEN, guild_ready_timeout=0.0)
    async with Database.open(db_path) as db:
        desk = build_desk(settings, db, kb=kb, clock=SystemClock(), role_sources=adapter.role_sources)
        worker = DeliveryWorker(db, {"discord": adapter.platform}, SystemClock(), base_backoff=0.05)
        world = World(
            fake, config, adapter, desk, worker, intake, queue, leads, people["Alice"], people["Carol"], bob, dana
        )
        world.tasks.append(asyncio.create_task(worker.run(), name="delivery"))
        try:
            await world.start_bot()
            yield world
        finally:
            await world.stop_bot()
            for task in world.tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


@pytest.fixture
async def world(fake: FakeDiscord, db_path: Path, sample_kb: Matcher) -> AsyncIterator[World]:
    async with running_world(fake, db_path, sample_kb) as w:
        yield w
