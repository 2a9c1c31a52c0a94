"""Long-running loops (delivery, scheduler) must stop when cancelled, even as they are woken."""

from __future__ import annotations

import asyncio

from bot.waiting import until_set
from tests.fakes.patience import HANG


async def test_a_cancel_that_races_the_wake_up_still_stops_the_loop() -> None:
    for _ in range(100):
        event = asyncio.Event()

        async def loop(wake: asyncio.Event = event) -> None:
            while True:
                await until_set(wake, 10)
                wake.clear()

        task = asyncio.create_task(loop())
        await asyncio.sleep(0)  # the loop is waiting
        event.set()  # a commit wakes it …
        task.cancel()  # … just as the process shuts it down
        done, _ = await asyncio.wait({task}, timeout=HANG)
        assert task in done and task.cancelled(), "the cancellation was swallowed: the loop runs on"


async def test_it_returns_on_the_event_or_the_timeout() -> None:
    event = asyncio.Event()
    await until_set(event, 0.01)  # times out quietly
    event.set()
    await asyncio.wait_for(until_set(event, 10 * HANG), HANG)  # not the timeout: the event
