"""Roles one process at a time may hold, kept in the database as leases.

- **The writer** (SQLite): one running ThreadDesk per SQLite database — two would post every acknowledgement
  and card twice. The process that opens the database for `run` or `console` takes the "writer" lease; a
  second process stops at start with one line naming the first.
- **A gateway shard** (Discord, on any store): processes sharing a PostgreSQL desk each connect the first
  shard nobody holds, and a process that finds every shard held stands by, taking one over within a third
  of the lease's time after its holder dies.

A holder renews its lease every third of its time. One that stalls past its lease and finds it taken
stops, saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from bot.ports import Clock, Store, StoreUnavailable
from bot.records import Holder

log = logging.getLogger(__name__)

ROLE = "writer"


class InUse(StoreUnavailable):
    """Another live process holds the database."""


class LeaseLost(StoreUnavailable):
    """This process stalled past its lease and another took the role over."""


@contextlib.asynccontextmanager
async def writer_lease(db: Store, clock: Clock, ttl: timedelta) -> AsyncIterator[None]:
    token = uuid.uuid4().hex
    blocker = await _take(db, (ROLE,), token, clock, ttl)
    if isinstance(blocker, Holder):
        raise InUse(
            f"{db.location} is in use by another ThreadDesk ({blocker.describe()}) — stop that one first "
            f"(if it crashed, its claim lapses at {blocker.expires:%H:%M:%S} UTC)"
        )
    async with _holding(db, ROLE, token, clock, ttl):
        yield


@contextlib.asynccontextmanager
async def first_free(db: Store, clock: Clock, roles: Sequence[str], ttl: timedelta) -> AsyncIterator[str]:
    """Hold the first of `roles` nobody holds, waiting (standing by) while every one is held; yields it."""
    token = uuid.uuid4().hex
    said = False
    while not isinstance(taken := await _take(db, roles, token, clock, ttl), str):
        if not said:
            log.info("standing by: %s held by %s; taking over when one is free", ", ".join(roles), taken.describe())
            said = True
        await asyncio.sleep(ttl.total_seconds() / 3)  # a holder's death shows only as a lapsed lease
    log.info("holding %s", taken)
    async with _holding(db, taken, token, clock, ttl):
        yield taken


async def _take(db: Store, roles: Sequence[str], token: str, clock: Clock, ttl: timedelta) -> str | Holder:
    """The role taken for `token`, or (when every one is held) the live holder of the last."""
    blocker: Holder | None = None
    for role in roles:
        async with db.transaction() as uow:
            blocker = await uow.leases.take(role, _me(token, clock.now(), ttl), clock.now())
        if blocker is None:
            return role
    assert blocker is not None
    return blocker


@contextlib.asynccontextmanager
async def _holding(db: Store, role: str, token: str, clock: Clock, ttl: timedelta) -> AsyncIterator[None]:
    """Renew the lease on `role` while the block runs; cancel the block if another process took it over."""
    main = asyncio.current_task()
    lost: list[str] = []

    async def keep() -> None:
        while True:
            await asyncio.sleep(ttl.total_seconds() / 3)
            async with db.transaction() as uow:
                ours = await uow.leases.renew(role, token, clock.now() + ttl)
            if not ours:
                async with db.reading() as uow:
                    taker = await uow.leases.current(role)
                what = f"{db.location}" if role == ROLE else f"{role} on {db.location}"
                lost.append(f"stopped: another ThreadDesk took {what} over ({taker.describe() if taker else '?'})")
                log.error("%s", lost[0])
                if main is not None:
                    main.cancel()
                return

    keeper = asyncio.create_task(keep(), name=f"lease-{role}")
    try:
        yield
    except asyncio.CancelledError:
        if lost:
            raise LeaseLost(lost[0]) from None
        raise
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        if not lost:
            async with db.transaction() as uow:
                await uow.leases.release(role, token)


def _me(token: str, now: datetime, ttl: timedelta) -> Holder:
    """This process as a lease holder."""
    return Holder(token, socket.gethostname(), os.getpid(), now, now + ttl)
