"""The PostgreSQL server the store tests use: `THREADDESK_TEST_DATABASE_URL`, by default the local one.

Each test gets its own schema (dropped afterwards), so tests — and xdist workers — never see each other's
rows; a test of real `threaddesk run` processes (which take a URL, not a schema) gets a database of its own.
Without a server the PostgreSQL half of the store tests is skipped with one line at the end of the run; under
CI (`CI=true`) a missing server fails them instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
    dropped when the block ends — with `FORCE`, so connections a killed process left behind do not keep it."""
    name = f"td_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield urlunsplit(urlsplit(URL)._replace(path=f"/{name}"))
    finally:
        conn = await asyncpg.connect(URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


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
    """A migrated desk in a new schema of the test server, dropped when the block ends."""
    async with fresh_schema() as schema, open_in(schema) as store:
        yield store
