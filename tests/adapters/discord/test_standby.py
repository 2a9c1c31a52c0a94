"""Two processes on one desk, one Discord shard: one holds the gateway session, the other stands by and takes
over when the first goes away — never two sessions answering the same message."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from tests.adapters.discord.conftest import running_world
from tests.adapters.discord.people import find
from tests.fakes.discord_api import FakeDiscord, eventually

LEASE = timedelta(seconds=0.6)


async def test_a_second_process_stands_by_then_takes_the_gateway_over(
    fake: FakeDiscord, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.writer_lease")
    async with running_world(fake, db_path) as first:
        first.client_options["lease"] = LEASE
        await first.restart()  # with the short lease
        second = dataclasses.replace(first, client_options={"lease": LEASE}, tasks=[])
        stack = contextlib.AsyncExitStack()
        second._stack = stack
        await second._build()
        serving = asyncio.create_task(second.adapter.serve(second.desk), name="second-discord")
        worker = asyncio.create_task(second.worker.run(), name="second-delivery")
        try:
            await eventually(lambda: "standing by: discord-shard-0 held by" in caplog.text, what="the standby")
            identifies = fake.identifies
            asked = fake.say(first.alice, first.intake, "Sync is broken on Android")
            await eventually(lambda: find(fake, asked, "we've opened ticket #1"), what="the first process's answer")

            await first.close()  # the holder goes away; its lease is released
            await eventually(lambda: second.adapter.connected, what="the second process to take the gateway over")
            assert fake.identifies == identifies + 1
            again = fake.say(first.carol, first.intake, "Invoices are missing since Monday")
            await eventually(lambda: find(fake, again, "we've opened ticket #2"), what="the second process's answer")
            assert len([m for m in fake.bot_messages_in(asked) if "we've opened ticket" in m["content"]]) == 1
        finally:
            for task in (serving, worker):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await stack.aclose()
