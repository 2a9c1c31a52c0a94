"""One running ThreadDesk per SQLite database (two would post every acknowledgement and card twice).

The process that opens the database for `run` or `console` takes the "writer" lease and renews it every
third of its time; a second process stops at start with one line naming the first. A process that stalls
past its lease and finds it taken stops too, saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from bot.ports import Clock
from bot.store import lease
from bot.store.db import Database, StoreUnavailable

log = logging.getLogger(__name__)

ROLE = "writer"


class InUse(StoreUnavailable):
    """Another live process holds the database."""


class LeaseLost(StoreUnavailable):
    """This process stalled past its lease and another took the database over."""


@contextlib.asynccontextmanager
async def writer_lease(db: Database, clock: Clock, ttl: timedelta) -> AsyncIterator[None]:
    claimant = lease.me(clock.now(), ttl)
    async with db.transaction() as conn:
        blocker = await lease.take(conn, ROLE, claimant, clock.now())
    if blocker is not None:
        raise InUse(
            f"{db.path} is in use by another ThreadDesk ({blocker.describe()}) — stop that one first "
            f"(if it crashed, its claim lapses at {blocker.expires:%H:%M:%S} UTC)"
        )
    main = asyncio.current_task()
    lost: list[str] = []

    async def keep() -> None:
        while True:
            await asyncio.sleep(ttl.total_seconds() / 3)
            async with db.autocommit() as conn:
                ours = await lease.renew(conn, ROLE, claimant.token, clock.now() + ttl)
            if not ours:
                async with db.reading() as conn:
                    taker = await lease.current(conn, ROLE)
                lost.append(f"stopped: another ThreadDesk took {db.path} over ({taker.describe() if taker else '?'})")
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
            async with db.autocommit() as conn:
                await lease.release(conn, ROLE, claimant.token)
