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
from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import Settings, settings_from_dict
from bot.delivery import DeliveryWorker
from bot.ports import Clock, SystemClock
from bot.storage import open_store
from tests.conftest import shared_matcher
from tests.fakes.discord_api import TOKEN, FakeDiscord, eventually


@dataclass
class World:
    fake: FakeDiscord
    settings: Settings
    db_path: Path
    intake: str
    queue: str
    leads: str
    alice: dict[str, Any]
    carol: dict[str, Any]
    bob: dict[str, Any]
    dana: dict[str, Any]
    client_options: dict[str, Any] = field(default_factory=dict)
    clock: Clock = field(default_factory=SystemClock)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _build(self) -> None:
        """A fresh process's worth of objects: database connection, adapter, desk, delivery worker."""
        self.db = await self._stack.enter_async_context(open_store(self.db_path))
        self.adapter = DiscordAdapter(
            self.config, TOKEN, teams=self.settings.teams, guild_ready_timeout=0.0, **self.client_options
        )
        kb = await open_knowledge_base(self.settings, self.db, self.clock, build=shared_matcher)
        self.desk = build_desk(
            self.settings,
            self.db,
            kb=kb,
            clock=self.clock,
            role_sources=self.adapter.role_sources,
            member_sources=self.adapter.member_sources,
        )
        self.worker = DeliveryWorker(self.db, {"discord": self.adapter.platform}, self.clock, base_backoff=0.05)

    @property
    def config(self) -> DiscordConfig:
        config = self.settings.adapters["discord"]
        assert isinstance(config, DiscordConfig)
        return config

    async def start(self) -> None:
        if not hasattr(self, "db"):
            self._stack = contextlib.AsyncExitStack()
            await self._build()
        identifies = self.fake.identifies
        self.tasks = [
            asyncio.create_task(self.worker.run(), name="delivery"),
            asyncio.create_task(self.adapter.serve(self.desk), name="discord"),
        ]
        await eventually(
            lambda: self.fake.identifies > identifies and self.adapter.bot is not None and self.adapter.bot.is_ready(),
            what="the bot to connect",
        )

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks = []

    async def close(self) -> None:
        await self.stop()
        await self._stack.aclose()

    async def rebuild(self) -> None:
        """Fresh objects, as a new process has them, not started yet (after `close`)."""
        self._stack = contextlib.AsyncExitStack()
        await self._build()

    async def restart(self) -> None:
        """Stop everything and start again as a new process would: nothing kept in memory."""
        await self.close()
        await self.rebuild()
        await self.start()


def discord_config(fake: FakeDiscord, **overrides: Any) -> dict[str, Any]:
    return {"enabled": True, "api_base_url": fake.api_base_url, "guild_id": fake.guild_id, **overrides}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    yield server
    await server.stop()


@contextlib.asynccontextmanager
async def running_world(
    fake: FakeDiscord,
    db_path: Path,
    *,
    clock: Clock | None = None,
    settings: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[World]:
    """`settings`: more of the desk's settings (`teams`, …); `overrides`: more of the `[discord]` table."""
    intake, queue, leads = fake.text_channel("support"), fake.text_channel("support-queue"), fake.text_channel("leads")
    agents, team_leads = fake.role("Support"), fake.role("Leads")
    alice, carol = fake.user("Alice"), fake.user("Carol")
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
    desk_settings = settings_from_dict(
        {"discord": raw, "intake": {"max_open_per_customer": 3}, **(settings or {})}, {"discord": DiscordConfig}
    )
    world = World(
        fake, desk_settings, db_path, intake, queue, leads, alice, carol, bob, dana, clock=clock or SystemClock()
    )
    try:
        await world.start()
        yield world
    finally:
        await world.close()


@pytest.fixture
async def world(fake: FakeDiscord, db_path: Path) -> AsyncIterator[World]:
    async with running_world(fake, db_path) as w:
        yield w
