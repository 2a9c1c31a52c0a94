"""Waiting for a wake-up without losing a cancellation."""

from __future__ import annotations

import asyncio
import contextlib


async def until_set(event: asyncio.Event, timeout: float | None) -> None:
    """Return when `event` is set or `timeout` seconds passed.

    Not `asyncio.wait_for(event.wait(), timeout)`: on Python 3.11 it swallows a cancellation that arrives
    just as the event fires, so a loop built on it could not be stopped (the console hung at exit, rarely,
    when the last commit woke the scheduler at the moment it was cancelled). `asyncio.timeout` tells its
    own timeout from an outside cancellation.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
