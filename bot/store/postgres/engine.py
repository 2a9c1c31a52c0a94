"""The shared engine: PostgreSQL through an asyncpg pool, for several `threaddesk run` processes on one database.

A unit of work is one transaction on one pooled connection (READ COMMITTED). What SQLite gets from its single
writer, PostgreSQL gets from row locks: a unit that changes a ticket or an incident reads it `FOR UPDATE`, so
two units on one ticket — in one process or in two — take turns, and units on different tickets run side by
side. Work that any process may pick up (outbox rows, due timers, waiting inbox messages) is claimed with
`FOR UPDATE SKIP LOCKED`, so each piece is done once; idempotent intake rests on unique constraints.

Commits in one process wake its delivery worker directly; the repositories that queue work announce it
(`bot.store.postgres.announce`: NOTIFY on the desk's channel), which wakes the other processes' workers, so
nobody polls.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.ports import SchemaTooNew, StoreUnavailable
from bot.records import TableRows, moment_text
from bot.store.postgres.announce import channel
from bot.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from bot.store.postgres.unit_of_work import PostgresUnitOfWork

log = logging.getLogger(__name__)

#: `pg_advisory_lock` key held while migrating, so two processes starting together don't both migrate
MIGRATION_LOCK = 0x7D_0001
#: the first half of `exclusive`'s two-key advisory locks (a key space apart from the one-key lock above)
EXCLUSIVE_LOCKS = 0x7D_0002


def masked(url: str) -> str:
    """The URL with its password replaced by `***`: safe to print and to log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def explain(url: str, exc: BaseException) -> str:
    """One line for a server that cannot be used, naming what to do about it."""
    where = masked(url)
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        return (
            f"PostgreSQL at {where} refused the login ({exc}) — check the user and THREADDESK_DATABASE_URL's password"
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"PostgreSQL at {where}: {exc} — create it (`createdb …`) or fix the database name in the URL"
    if isinstance(exc, OSError | TimeoutError):
        return f"cannot reach PostgreSQL at {where} ({exc}) — is the server running, and are host and port right?"
    return f"PostgreSQL at {where} cannot be used ({type(exc).__name__}: {exc})"


#: a JSON escape of NUL, unless its backslash is itself escaped
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL (SQLite can): a name, subject or article typed with one is stored without
    # it rather than failing the whole unit of work
    return value.replace("\x00", "")


def _json(value: Any) -> str:
    return _JSON_NUL.sub(r"\1", json.dumps(value))


async def _init_connection(conn: asyncpg.Connection, *, own: set[int]) -> None:
    own.add(conn.get_server_pid())  # what this store announces, it has applied already: not heard back
    await conn.set_type_codec("text", encoder=_text, decoder=str, schema="pg_catalog", format="text")
    for kind in ("jsonb", "json"):
        await conn.set_type_codec(kind, encoder=_json, decoder=json.loads, schema="pg_catalog")


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """What a connection goes back to the pool with: as it is. asyncpg's default reset sends `SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release: one more round trip and
    server statement after each unit of work, however small. The store leaves nothing for it to undo:
    units take transaction-scoped locks only (`migrate` unlocks its session lock itself), cursors live inside
    transactions, LISTEN is on a connection of its own, and session settings are fixed at connect. An open
    transaction is still rolled back by the pool (`Connection._reset`), whatever this does."""


class PostgresStore:
    """Implements `bot.ports.Store`. Open with `async with PostgresStore.open(url) as store:`."""

    engine = "postgresql"

    def __init__(self, url: str, pool: asyncpg.Pool, schema: str | None, claimant: str, own: set[int]) -> None:
        self.url = url
        self.claimant = claimant
        self._own = own  # server pids of this store's pooled connections
        self._pool = pool
        self.schema = schema
        self._after_commit: list[Callable[[], None]] = []
        self._notices: dict[str, list[Callable[[], None]]] = {}
        self._listener: asyncpg.Connection | None = None
        self.commits = 0

    @property
    def location(self) -> str:
        return masked(self.url) + (f" (schema {self.schema})" if self.schema else "")

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        pool_size: int = 10,
        schema: str | None = None,
        listen: bool = True,
    ) -> AsyncIterator[PostgresStore]:
        """Connect (a pool of up to `pool_size` connections) and bring the schema up to date. `schema` puts
        the desk in its own PostgreSQL schema (tests give each test one). A server that cannot be reached or
        used raises `StoreUnavailable` with one line, never a driver traceback."""
        # names this store's connections on the server: outbox claims count while a connection so named exists
        claimant = f"threaddesk-{socket.gethostname()[:30]}-{os.getpid()}-{secrets.token_hex(3)}"
        settings = {"application_name": claimant}
        own: set[int] = set()
        if schema:
            settings["search_path"] = schema
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size,
                init=functools.partial(_init_connection, own=own),
                reset=_keep_session,
                server_settings=settings,
                timeout=10,
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise StoreUnavailable(explain(url, exc)) from None
        store = cls(url, pool, schema, claimant, own)
        try:
            if schema:
                async with pool.acquire() as conn:
                    # IF NOT EXISTS still races with a process creating it at the same moment
                    with contextlib.suppress(asyncpg.UniqueViolationError):
                        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            if migrate:
                await store.migrate()
            if listen:
                await store._listen()
            yield store
        finally:
            if store._listener is not None:
                with contextlib.suppress(Exception):
                    await store._listener.close()
            await pool.close()

    def _session_settings(self) -> dict[str, str]:
        """A connection outside the pool: named and placed as the pooled ones are."""
        settings = {"application_name": self.claimant}
        if self.schema:
            settings["search_path"] = self.schema
        return settings

    async def _listen(self) -> None:
        """One connection outside the pool waits for other processes' notifications."""
        self._listener = await asyncpg.connect(self.url, server_settings=self._session_settings())
        desk = await self._listener.fetchval("SELECT current_schema()")
        await self._listener.add_listener(channel(desk), self._notified)

    def _notified(self, _conn: Any, pid: int, _channel: str, topic: str) -> None:
        """Another process committed work for us ("outbox") or changed something we keep in memory."""
        if pid in self._own:
            return
        for callback in self._after_commit if topic == "outbox" else self._notices.get(topic, []):
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def on_notice(self, topic: str, callback: Callable[[], None]) -> None:
        self._notices.setdefault(topic, []).append(callback)

    @asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[PostgresUnitOfWork]:
        """`first` changes nothing here: units run side by side on pooled connections, so there is no
        writer's turn for an acknowledgement's unit to queue behind (only, at worst, a free connection)."""
        async with self._connection() as conn, conn.transaction():
            yield PostgresUnitOfWork(conn, writing=True, claimant=self.claimant)
        self.commits += 1
        for callback in self._after_commit:
            callback()

    @asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[bool]:
        """An advisory try-lock on a connection of its own, closed when the block ends: the server lets go
        then, or when the process dies (its session with it). Not a pooled connection: the block's work
        needs the pool, which may be a single connection (`[store] pool_size = 1`). Keyed by the desk's
        schema too, so desks sharing a database never hold each other's keys."""
        try:
            conn = await asyncpg.connect(self.url, server_settings=self._session_settings(), timeout=10)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreUnavailable(explain(self.url, exc)) from None
        try:
            held = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || ':' || $2))", EXCLUSIVE_LOCKS, key
            )
            yield bool(held)
        finally:
            await conn.close()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PostgresUnitOfWork]:
        async with self._connection() as conn:
            yield PostgresUnitOfWork(conn, writing=False, claimant=self.claimant)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            conn = await self._pool.acquire(timeout=30)
        except (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError) as exc:
            raise StoreUnavailable(explain(self.url, exc)) from None
        try:
            yield conn
        finally:
            await self._pool.release(conn)

    # -- maintenance --------------------------------------------------------------------------------------

    async def schema_version(self) -> int:
        async with self._connection() as conn:
            return await _version(conn)

    async def migrate(self) -> list[int]:
        """Apply pending migrations under an advisory lock: a second process starting at the same moment
        waits, then finds nothing left to do."""
        applied: list[int] = []
        async with self._connection() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                current = await _version(conn)
                if current > SCHEMA_VERSION:
                    raise SchemaTooNew(
                        f"{self.location} has schema version {current}, newer than this ThreadDesk "
                        f"({SCHEMA_VERSION}). Upgrade ThreadDesk or use another database."
                    )
                for version in sorted(MIGRATIONS):
                    if version <= current:
                        continue
                    async with conn.transaction():
                        try:
                            await conn.execute(MIGRATIONS[version])
                        except asyncpg.FeatureNotSupportedError as exc:  # a migration's own refusal (pg_trgm)
                            raise StoreUnavailable(f"PostgreSQL at {self.location}: {exc}") from None
                        await conn.execute(
                            "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);"
                            "DELETE FROM schema_version;"
                        )
                        await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
                    log.info("database %s migrated to schema version %d", self.location, version)
                    applied.append(version)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        return applied

    async def integrity_problems(self, *, full: bool = False) -> list[str]:
        """PostgreSQL keeps its own pages sound; what can be wrong is the desk's schema version."""
        version = await self.schema_version()
        return [] if version == SCHEMA_VERSION else [f"schema version {version}, expected {SCHEMA_VERSION}"]

    # -- whole tables (`threaddesk db copy`) -------------------------------------------------------------

    async def dump_table(self, table: str, batch: int) -> AsyncIterator[TableRows]:
        async with self._connection() as conn, conn.transaction():
            columns = tuple(name for name, _ in await _columns(conn, table))
            rows: list[tuple[Any, ...]] = []
            async for record in conn.cursor(f"SELECT {', '.join(columns)} FROM {table}", prefetch=batch):
                rows.append(tuple(_portable(v) for v in record))
                if len(rows) == batch:
                    yield TableRows(table, columns, rows)
                    rows = []
            if rows:
                yield TableRows(table, columns, rows)

    async def load_table(self, table: str, rows: TableRows) -> None:
        async with self._connection() as conn, conn.transaction():
            types = dict(await _columns(conn, table))
            keep = [i for i, c in enumerate(rows.columns) if c in types]
            names = [rows.columns[i] for i in keep]
            marks = ", ".join(f"${n}" for n in range(1, len(keep) + 1))
            await conn.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
                [tuple(_native(row[i], types[rows.columns[i]]) for i in keep) for row in rows.rows],
            )

    async def count_rows(self, table: str) -> int:
        async with self._connection() as conn:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))

    async def clear_table(self, table: str) -> None:
        async with self._connection() as conn:
            await conn.execute(f"DELETE FROM {table}")

    async def after_load(self) -> None:
        """Identity sequences continue after the highest number copied, so the next ticket is not #1 again."""
        async with self._connection() as conn:
            identities = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND is_identity = 'YES'"
            )
            for table, column in identities:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
                )

    async def compact_log(self) -> None:
        """Erased rows' old versions are removed from the tables' pages by VACUUM."""
        async with self._connection() as conn:
            for table in ("ticket_messages", "tickets", "ticket_events", "people", "inbox", "csat"):
                await conn.execute(f"VACUUM {table}")


async def _columns(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """A table's stored (not generated) columns and their types, in table order."""
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position",
        table,
    )
    return [(r[0], r[1]) for r in rows]


def _portable(value: Any) -> Any:
    """A value read from PostgreSQL in the portable form (`bot.records.TableRows`)."""
    if isinstance(value, datetime):
        return moment_text(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _native(value: Any, data_type: str) -> Any:
    """A portable value as the column of `data_type` takes it."""
    if value is None:
        return None
    if data_type == "timestamp with time zone":
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if data_type in ("jsonb", "json"):
        return json.loads(value) if isinstance(value, str) else value
    if data_type == "boolean":
        return bool(value)
    if data_type in ("bigint", "integer", "smallint"):
        return int(value)
    if data_type == "double precision":
        return float(value)
    return value


async def _version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    value = await conn.fetchval("SELECT max(version) FROM schema_version")
    return int(value or 0)
