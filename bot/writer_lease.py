"""One running ThreadDesk per SQLite database (two would post every acknowledgement and card twice).

The process that opens the database for `run` or `console` takes the "writer" lease and renews it every
third of its time; a second process stops at start with one line naming the first. A process that stalls
past its lease and finds it taken stops too, saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from bot.ports import Clock, Store, StoreUnavailable
from bot.records import Holder

log = logging.getLogger(__name__)

ROLE = "writer"


class InUse(StoreUnavailable):
    """Another live process holds the database."""


class LeaseLost(StoreUnavailable):
    """This process stalled past its lease and another took the database over."""


@contextlib.asynccontextmanager
async def writer_lease(db: Store, clock: Clock, ttl: timedelta) -> AsyncIterator[None]:
    claimant = _me(clock.now(), ttl)
    async with db.transaction() as uow:
        blocker = await uow.leases.take(ROLE, claimant, clock.now())
    if blocker is not None:
        raise InUse(
            f"{db.location} is in use by another ThreadDesk ({blocker.describe()}) — stop that one first "
            f"(if it crashed, its claim lapses at {blocker.expires:%H:%M:%S} UTC)"
        )
    main = asyncio.current_task()
    lost: list[str] = []

    async def keep() -> None:
        while True:
            await asyncio.sleep(ttl.total_seconds() / 3)
            async with db.transaction() as uow:
                ours = await uow.leases.renew(ROLE, claimant.token, clock.now() + ttl)
            if not ours:
                async with db.reading() as uow:
                    taker = await uow.leases.current(ROLE)
                lost.append(
                    f"stopped: another ThreadDesk took {db.location} over ({taker.describe() if taker else '?'})"
                )
                log.error("%s", lost[0])
                if main is not None:
                    main.cancel()
                return

    keeper = asyncio.create_task(keep(), name="writer-lease")
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
                await uow.leases.release(ROLE, claimant.token)


def _me(now: datetime, ttl: timedelta) -> Holder:
    """This process as a lease holder."""
    return Holder(uuid.uuid4().hex, socket.gethostname(), os.getpid(), now, now + ttl)
