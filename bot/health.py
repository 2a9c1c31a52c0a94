"""Liveness and readiness for /healthz and /readyz, and the database side of /metrics.

Readiness is a list of named checks, each with a line a person can act on: the store answers and has this
version's schema, every enabled platform is connected, the delivery worker is running, no message has waited
in the durable inbox (and no unit of work has been running) longer than `[ops] max_inbox_lag_seconds`, and
the oldest post waiting in the outbox is younger than `[ops] max_outbox_lag_seconds`. While shutting down it fails with
`shutdown`, so a load balancer stops sending work before the process stops taking it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot import telemetry
from bot.lifecycle import WorkGate
from bot.ports import Clock, Store
from bot.storage import SCHEMA_VERSION

STORE_TIMEOUT = 2.0
EVENTS_PER_SLICE = 20_000


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "failed": [c.name for c in self.checks if not c.ok],
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }


@dataclass
class Probe:
    """What the ops endpoints ask. The composition root registers platforms and the worker as they start."""

    store: Store
    clock: Clock
    max_outbox_lag: timedelta = timedelta(minutes=5)
    gate: WorkGate | None = None  # the desk's units of work in flight
    max_inbox_lag: timedelta = timedelta(minutes=1)
    platforms: dict[str, Callable[[], bool]] = field(default_factory=dict)
    worker_alive: Callable[[], bool] | None = None
    shutting_down: bool = False
    _openings: telemetry.DeskStats = field(default_factory=telemetry.DeskStats)  # running totals
    _counted_to: int = 0  # the last history event id counted into `_openings`
    _counting: asyncio.Lock = field(default_factory=asyncio.Lock)  # two scrapes at once never count twice

    async def readiness(self) -> Readiness:
        checks = [await self._store()]
        for name, connected in sorted(self.platforms.items()):
            ok = connected()
            checks.append(Check(f"platform:{name}", ok, "connected" if ok else f"{name} is not connected"))
        if self.worker_alive is not None:
            alive = self.worker_alive()
            checks.append(Check("delivery", alive, "running" if alive else "the delivery worker has stopped"))
        if checks[0].ok:
            checks.append(await self._inbox())
            checks.append(await self._outbox())
        if self.shutting_down:
            checks.append(Check("shutdown", False, "shutting down: finishing work in flight"))
        return Readiness(checks)

    async def _store(self) -> Check:
        try:
            async with asyncio.timeout(STORE_TIMEOUT), self.store.reading() as uow:
                version = await uow.ops_stats.schema_version()
        except TimeoutError:
            return Check("store", False, f"the database did not answer within {STORE_TIMEOUT:g} s")
        except Exception as exc:  # any driver error: the check's job is to say so, not to raise
            return Check("store", False, f"the database cannot be read: {type(exc).__name__}: {exc}")
        if version != SCHEMA_VERSION:
            return Check(
                "store",
                False,
                f"schema version {version}, this ThreadDesk needs {SCHEMA_VERSION} — run `threaddesk db migrate`",
            )
        return Check("store", True, f"reachable, schema version {version}")

    async def _inbox(self) -> Check:
        """Messages waiting in the durable inbox (read now, from the store), and the units in flight."""
        now, limit = self.clock.now(), self.max_inbox_lag.total_seconds()
        async with self.store.reading() as uow:
            waiting, oldest = await uow.inbound.depth()
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        in_flight = self.gate.in_flight if self.gate is not None else 0
        running = self.gate.oldest_age() if self.gate is not None else 0.0
        figures = f"{waiting} waiting, oldest {age:.0f} s; {in_flight} in flight, oldest {running:.0f} s"
        if age > limit:
            return Check(
                "inbox",
                False,
                f"a message has waited in the inbox for {age:.0f} s (limit {limit:g} s; {figures}) — "
                "the database or the KB is stuck, or handling keeps failing (see the log)",
            )
        if running > limit:
            return Check(
                "inbox",
                False,
                f"a unit of work has been running for {running:.0f} s (limit {limit:g} s; {figures}) — "
                "the database or the KB is stuck",
            )
        return Check("inbox", True, f"{figures} (limit {limit:g} s)")

    async def _outbox(self) -> Check:
        now = self.clock.now()
        async with self.store.reading() as uow:
            oldest = await uow.ops_stats.oldest_pending(tuple(self.platforms))
        lag = now - oldest if oldest is not None else timedelta(0)
        limit = self.max_outbox_lag.total_seconds()
        if lag > self.max_outbox_lag:
            return Check(
                "outbox", False, f"the oldest undelivered post is {lag.total_seconds():.0f} s old (limit {limit:g} s)"
            )
        return Check("outbox", True, f"oldest undelivered post {lag.total_seconds():.0f} s old (limit {limit:g} s)")

    async def metrics(self) -> bytes:
        await self._count_new_events()
        now = self.clock.now()
        async with self.store.reading() as uow:
            stats = await uow.ops_stats.read_stats(now)
            stats.inbox_depth, oldest = await uow.inbound.depth()
        stats.inbox_oldest_seconds = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        stats.opened, stats.resolved = dict(self._openings.opened), dict(self._openings.resolved)
        return telemetry.render(stats)

    async def _count_new_events(self) -> None:
        """Openings and resolutions since the last scrape. The first scrape reads the whole history in slices,
        letting go of the shared connection between them so intake is never held up for long."""
        async with self._counting:
            async with self.store.reading() as uow:
                last = await uow.ops_stats.last_event_id()
            await self._count_up_to(last)

    async def _count_up_to(self, last: int) -> None:
        while self._counted_to < last:
            upto = min(last, self._counted_to + EVENTS_PER_SLICE)
            async with self.store.reading() as uow:
                await uow.ops_stats.count_openings(self._openings, self._counted_to, upto)
            self._counted_to = upto
