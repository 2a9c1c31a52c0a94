"""How long a test waits for something that must happen: a guard against hangs, never a margin.

Tests wait on events and readiness; this only bounds how long a broken build takes to fail. It is far above
anything a loaded 2-core CI machine needs, and below pytest-timeout (pyproject.toml) so the failure names what hung.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

HANG = 120.0


async def until(condition: Callable[[], object], what: str) -> None:
    """Wait until `condition()` (or what it returns, when that is awaitable) holds — for state another task or
    process changes without telling us."""
    deadline = time.monotonic() + HANG
    while not await _holds(condition):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def _holds(condition: Callable[[], object]) -> bool:
    value = condition()
    return bool(await value) if inspect.isawaitable(value) else bool(value)


def wait_until(condition: Callable[[], T], what: str) -> T:
    """The blocking twin of `until`, for a test thread watching another process (its database rows, its
    readiness endpoint, a fake platform it calls): returns the first truthy `condition()`. `condition` may
    assert, to fail at once when the watched process dies instead of waiting out `HANG`."""
    deadline = time.monotonic() + HANG
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value
