"""Work in flight and shutdown: adapters ask the gate before starting a unit, the composition root waits
for the gate to be idle before flushing the outbox and exiting (see `adapters/lifecycle.py`)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot import telemetry


class WorkGate:
    """Counts the units of work being handled (chat messages, commands), for draining and for metrics."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self.draining = False
        self.started = 0  # units started since the process began
        self._started: dict[int, float] = {}
        self._ids = itertools.count()
        self._idle = asyncio.Event()
        self._idle.set()
        telemetry.UNITS_IN_FLIGHT.set_function(lambda: len(self._started))
        telemetry.UNIT_OLDEST.set_function(self.oldest_age)

    @property
    def in_flight(self) -> int:
        return len(self._started)

    def oldest_age(self) -> float:
        return self._now() - min(self._started.values()) if self._started else 0.0

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        key = next(self._ids)
        self.started += 1
        self._started[key] = self._now()
        self._idle.clear()
        try:
            yield
        finally:
            del self._started[key]
            if not self._started:
                self._idle.set()

    async def idle(self) -> None:
        """Returns once nothing is in flight."""
        await self._idle.wait()
