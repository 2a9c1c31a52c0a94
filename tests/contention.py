"""Holding a unit of work open until the units racing it are seen waiting behind it: tests of units that take
turns then prove that they raced, instead of holding on for a while and hoping the others arrive meanwhile."""

from __future__ import annotations

import asyncpg

from bot.ports import Store
from bot.store.postgres.engine import PostgresStore
from bot.store.sqlite.engine import SqliteStore
from tests import pg
from tests.fakes.patience import until

#: the desk's own connections (its pool's server processes) waiting for a lock: a row, a key, an advisory lock
_WAITING = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid = ANY($1::int[])"


async def until_waiting(db: Store, count: int) -> None:
    """Until `count` other units of work wait for what the caller's unit holds: on SQLite the writer's turn, on
    PostgreSQL a lock, on one of the desk's own connections. Call it inside the unit that holds it."""
    if count <= 0:
        return
    if isinstance(db, SqliteStore):
        await until(lambda: db._turn.waiting >= count, f"{count} units waiting for the writer's turn")
        return
    assert isinstance(db, PostgresStore)
    conn = await asyncpg.connect(pg.URL)  # not the desk's pool: the racing units may hold all of it
    try:

        async def enough() -> bool:
            return int(await conn.fetchval(_WAITING, list(db._own))) >= count

        await until(enough, f"{count} units waiting for a lock the caller's unit holds")
    finally:
        await conn.close()
