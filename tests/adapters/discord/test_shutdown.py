"""SIGTERM with Discord: the message already received is handled and its posts delivered, then the gateway
is closed cleanly and `serve` returns (the process would exit 0)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from adapters import lifecycle
from bot.scheduler import Scheduler
from tests.adapters.discord.conftest import running_world
from tests.adapters.discord.people import find
from tests.fakes.discord_api import FakeDiscord, eventually


async def test_sigterm_finishes_the_work_then_closes_the_gateway(fake: FakeDiscord, db_path: Path) -> None:
    async with running_world(fake, db_path) as world:
        await world.stop()  # the service loop below runs the adapter and the worker instead
        serving = asyncio.create_task(
            lifecycle.serve(
                world.settings, world.desk, world.worker, Scheduler(world.desk.ctx), [("discord", world.adapter)]
            )
        )
        await eventually(lambda: world.adapter.connected, what="the bot to connect")
        asked = fake.say(world.alice, world.intake, "Sync is broken on Android")
        await eventually(lambda: world.desk.gate.started, what="the message to reach the desk")
        os.kill(os.getpid(), signal.SIGTERM)  # handled by the service loop, as in `threaddesk run`
        await serving
        assert find(fake, asked, "we've opened ticket #1"), "handled and delivered before the gateway closed"
        assert world.adapter.bot is not None and world.adapter.bot.is_closed()
        assert not world.adapter.connected
        assert not fake.connected.is_set()
