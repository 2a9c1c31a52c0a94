"""The PostgreSQL server the store tests use: `THREADDESK_TEST_DATABASE_URL`, by default the local one.

Each test gets a schema of its own, so tests — and xdist workers — never see each other's rows; a test of
real `threaddesk run` processes (which take a URL, not a schema) gets a database of its own. The service
suite's desks (`fresh_store`) come from schemas migrated once per worker and emptied back to their migrated
state between tests (see `_Spare`), and so do tests of processes sharing one (`migrated_schema`); tests of
migrating a schema get a brand-new one (`fresh_schema`).
Without a server the PostgreSQL half of the store tests is skipped with one line at the end of the run; under
CI (`CI=true`) a missing server fails them instead.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.ports import Store
from bot.store.postgres.engine import PostgresStore

URL = os.environ.get("THREADDESK_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
_answer: dict[str, str | None] = {}


async def _probe() -> str | None:
    """None when the server answers; otherwise why not."""
    try:
        conn = await asyncpg.connect(URL, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def require_server() -> None:
    if "problem" not in _answer:
        _answer["problem"] = await _probe()
    problem = _answer["problem"]
    if problem is None:
        return
    why = f"PostgreSQL not reachable at {URL} ({problem})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} — CI must run the PostgreSQL store tests", pytrace=False)
    pytest.skip(f"{why} — set THREADDESK_TEST_DATABASE_URL to run the PostgreSQL store tests")


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """The name of a new, empty schema of the test server, dropped with everything in it when the block ends."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        conn = await asyncpg.connect(URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """The URL of a new, empty database on the test server (for processes that take a URL, not a schema),
    dropped after the block ends — with `FORCE`, so connections a killed process left behind do not keep it.

    `DROP DATABASE` makes the server write out every changed page first (a checkpoint: 3–15 s of disk after the
    chaos test in a full run), so it runs on a thread of its own while this worker goes on with the next tests;
    the session's end waits for it (`finish_drops`)."""
    name = f"td_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield urlunsplit(urlsplit(URL)._replace(path=f"/{name}"))
    finally:
        dropping = threading.Thread(target=_drop_database, args=(name,), name=f"drop {name}")
        dropping.start()
        _dropping.append(dropping)


def _drop_database(name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        asyncio.run(drop())
    except BaseException as exc:
        _drop_failures.append(f"DROP DATABASE {name}: {type(exc).__name__}: {exc}")
        raise


_dropping: list[threading.Thread] = []
_drop_failures: list[str] = []


def finish_drops() -> None:
    """Wait for the databases `fresh_database` is dropping (at the end of the test session); a failed drop fails
    the run."""
    while _dropping:
        _dropping.pop().join()
    assert not _drop_failures, _drop_failures


async def query(schema: str, statement: str) -> Any:
    """One value, read on a connection of its own (as an operator with psql would)."""
    conn = await asyncpg.connect(URL, server_settings={"search_path": schema})
    try:
        return await conn.fetchval(statement)
    finally:
        await conn.close()


async def create_schema(schema: str) -> None:
    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()


def open_in(schema: str, **options: Any) -> AbstractAsyncContextManager[PostgresStore]:
    """A store on `schema` (several may share one: processes of one desk)."""
    return PostgresStore.open(URL, schema=schema, pool_size=4, **options)


@asynccontextmanager
async def fresh_store() -> AsyncIterator[Store]:
    """A migrated, empty desk in a schema of its own (a name no test used before), for as long as the block lasts
    (the schema: `migrated_schema`)."""
    async with migrated_schema() as schema, open_in(schema) as store:
        yield store


@asynccontextmanager
async def migrated_schema() -> AsyncIterator[str]:
    """The name of a migrated, empty desk schema no test used before, for as long as the block lasts: for tests
    that open it in several stores (processes of one desk) and are not about migrating it.

    Creating and migrating a schema takes the server ~0.5 s and dropping it ~0.3 s (TRUNCATE is slower still:
    it creates every table's files anew), more than most service tests take. So the schema is one this process
    migrated before, renamed and emptied back to exactly its migrated state (`_Spare.renew`), or, the first
    time, a new one. They are dropped when the test session ends (`drop_spares`)."""
    spare = _spares.pop() if _spares else None
    if spare is not None and not await spare.renew():  # a test changed the tables themselves
        await spare.drop()
        spare = None
    if spare is None:
        spare = await _Spare.create()
    try:
        yield spare.schema
    finally:
        _spares.append(spare)


async def drop_spares() -> None:
    """Drop the schemas `fresh_store` kept (at the end of the test session)."""
    while _spares:
        await _spares.pop().drop()


@dataclass
class _Spare:
    """A schema this process migrated, and how to bring it back to that state: renamed (so a store a test
    left open can neither reach the next test's rows nor hear its notifications: both go by the schema's
    name), every table emptied (those that reference others first), the rows the migrations wrote put back,
    every sequence reset — in one transaction, after checking that the tables are still as migrated."""

    schema: str
    relations: list[str]  # its tables, indexes and sequences
    shape: str  # `_SHAPE` of the schema as migrated
    reset: str  # DELETE from every table, then setval every sequence
    seeds: list[tuple[str, list[tuple[Any, ...]]]]  # an INSERT and its rows, per table the migrations wrote to

    @classmethod
    async def create(cls) -> _Spare:
        schema = _new_name()
        async with open_in(schema, listen=False):
            pass  # created and migrated
        conn = await asyncpg.connect(URL, server_settings={"search_path": schema})
        try:
            tables = [r[0] for r in await conn.fetch(_TABLES, schema)]
            references = {(r[0], r[1]) for r in await conn.fetch(_REFERENCES, schema) if r[0] != r[1]}
            statements = [f'DELETE FROM "{table}";' for table in _referencing_first(tables, references)]
            seeds = []
            for table in tables:
                rows = await conn.fetch(f'SELECT * FROM "{table}"')
                if rows:
                    columns = list(rows[0].keys())
                    names = ", ".join(f'"{c}"' for c in columns)
                    marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
                    seeds.append((f'INSERT INTO "{table}" ({names}) VALUES ({marks})', [tuple(r) for r in rows]))
            for (sequence,) in await conn.fetch(_SEQUENCES, schema):
                value, called = await conn.fetchrow(f'SELECT last_value, is_called FROM "{sequence}"')
                statements.append(f"SELECT setval('\"{sequence}\"', {value}, {str(called).lower()});")
            relations = [r[0] for r in await conn.fetch(_RELATIONS, schema)]
            shape = await conn.fetchval(_SHAPE, schema, relations)
        finally:
            await conn.close()
        return cls(schema, relations, shape, "\n".join(statements), seeds)

    async def renew(self) -> bool:
        """Renamed and back to the state the migrations left; False (and nothing changed) when the tables are
        no longer as migrated."""
        name = _new_name()
        conn = await asyncpg.connect(URL)
        try:
            async with conn.transaction():
                await conn.execute(f'ALTER SCHEMA "{self.schema}" RENAME TO "{name}"; SET LOCAL search_path = "{name}"')
                if await conn.fetchval(_SHAPE, name, self.relations) != self.shape:
                    raise _Reshaped  # rolls the rename back
                await conn.execute(self.reset)
                for insert, rows in self.seeds:
                    await conn.executemany(insert, rows)
        except _Reshaped:
            return False
        finally:
            await conn.close()
        self.schema = name
        return True

    async def drop(self) -> None:
        conn = await asyncpg.connect(URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            await conn.close()


_spares: list[_Spare] = []


class _Reshaped(Exception):
    """A kept schema's tables are no longer as migrated."""


def _new_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def _referencing_first(tables: list[str], references: set[tuple[str, str]]) -> list[str]:
    """`tables` in an order where a table comes before the tables it references (`(table, referenced)`)."""
    ordered: list[str] = []
    left = list(tables)
    while left:
        free = [t for t in left if not any(referenced == t and table in left for table, referenced in references)]
        assert free, f"foreign keys in a cycle among {left}"
        ordered += free
        left = [t for t in left if t not in free]
    return ordered


_IN_SCHEMA = "relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)"
_TABLES = f"SELECT relname FROM pg_class WHERE {_IN_SCHEMA} AND relkind IN ('r', 'p') ORDER BY 1"
_SEQUENCES = f"SELECT relname FROM pg_class WHERE {_IN_SCHEMA} AND relkind = 'S' ORDER BY 1"
_RELATIONS = f"SELECT relname FROM pg_class WHERE {_IN_SCHEMA} ORDER BY 1"
_REFERENCES = """
SELECT c.relname, p.relname FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
 WHERE k.contype = 'f' AND k.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
"""
#: what makes the tables of schema $1 what they are: its relations $2 (tables, indexes, sequences) with their
#: columns, constraints, indexes and triggers, and its functions — found through the catalogs' indexes (a seq
#: scan of pg_class, bloated by every schema created and dropped, takes tens of milliseconds); the schema's
#: name is left out where PostgreSQL writes it
_SHAPE = """
WITH rel AS (
    SELECT oid, relname, relkind FROM pg_class
     WHERE relname = ANY($2::text[]) AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
)
SELECT coalesce(md5(string_agg(replace(line, $1 || '.', ''), E'\\n' ORDER BY line)), '') FROM (
    SELECT 'r ' || relname || ' ' || relkind::text FROM rel
    UNION ALL
    SELECT 'a ' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
           || a.attnotnull || ' ' || a.attidentity::text || a.attgenerated::text || ' '
           || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
      FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'k ' || r.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
      FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid
    UNION ALL
    SELECT 'i ' || pg_get_indexdef(i.indexrelid) FROM rel r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT 't ' || pg_get_triggerdef(t.oid) FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'f ' || p.oid::regprocedure || ' ' || md5(p.prosrc) FROM pg_proc p
     WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
) AS shape (line)
"""
