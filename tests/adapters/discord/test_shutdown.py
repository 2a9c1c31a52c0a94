"""SIGTERM with Discord: the message already received is handled and its posts delivered, then the gateway
is closed cleanly and `serve` returns (the process would exit 0). A message arriving while draining is kept
in the durable inbox, not handled, and handled at the next start."""

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
from tests.fakes.patience import until


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


async def test_a_message_arriving_while_draining_is_kept_and_handled_at_the_next_start(
    fake: FakeDiscord, db_path: Path
) -> None:
    async with running_world(fake, db_path) as world:
        first = fake.say(world.alice, world.intake, "Sync is broken on Android")
        await eventually(lambda: find(fake, first, "we've opened ticket #1"), what="the first ticket")
        await world.adapter.stop_intake()  # SIGTERM: what `lifecycle.serve` calls first when draining
        started = world.desk.gate.started
        late = fake.say(world.carol, world.intake, "Invoices are missing since Monday")

        async def kept() -> int:
            async with world.db.reading() as uow:
                waiting, _ = await uow.inbound.depth()
            return waiting

        await until(kept, "the bot to keep the late message")  # the gateway delivers it; the bot keeps it
        assert await kept() == 1
        assert world.adapter.connected  # still open: the outbox is flushed through it
        await world.worker.drain()
        assert world.desk.gate.started == started, "not handled while draining"
        assert not find(fake, late, "we've opened ticket #2")

        await world.restart()  # the next start: a new process, nothing kept in memory
        assert await world.desk.handle_waiting() == 1  # as `lifecycle.serve` does before taking anything new
        await eventually(lambda: find(fake, late, "we've opened ticket #2"), what="the kept message's ticket")
        assert await kept() == 0
