"""The embedded store: one aiosqlite connection, WAL, foreign keys, one transaction per command."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)


def to_db(moment: datetime) -> str:
    """UTC ISO-8601 with a fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(value: str) -> datetime:
    # fromisoformat reads the fixed-width form (with its Z) about 20x faster than strptime: a queue page
    # of 50 tickets parses ~150 moments
    return datetime.fromisoformat(value)


def opt_from_db(value: str | None) -> datetime | None:
    return from_db(value) if value is not None else None


class StoreUnavailable(RuntimeError):
    """The database cannot be used as it is; the message is one line that names the fix."""


class SchemaTooNew(StoreUnavailable):
    pass


def _explain(path: Path, exc: Exception) -> str:
    """One line for a database that cannot be opened, naming what to do about it."""
    text = str(exc).lower()
    if "not a database" in text:
        return f"{path} is not a ThreadDesk database (not an SQLite file) — move it away or set [store] path / --db"
    if "malformed" in text or "corrupt" in text:
        return (
            f"{path} is damaged ({exc}) — restore it from a backup, or salvage it with "
            f"`sqlite3 {path} .recover | sqlite3 recovered.db` and point [store] path at the copy"
        )
    if "locked" in text or "busy" in text:
        return (
            f"{path} stayed locked by another process for longer than {BUSY_TIMEOUT_MS // 1000} s — "
            "stop the other program using it, then start again"
        )
    if "readonly" in text or "read-only" in text:
        return f"{path} is read-only — give this user write access to the file and its folder"
    return f"cannot open {path} ({exc}) — check that the path is a file in a folder this user can write"


BUSY_TIMEOUT_MS = 5000


class Database:
    """Owns the connection. Use `async with Database.open(path) as db:` so it is always closed."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._after_commit: list[Callable[[], None]] = []

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str, *, migrate: bool = True, check: bool = False) -> AsyncIterator[Database]:
        """Open (and create) the database. Anything that makes it unusable — a folder or a non-database at
        the path, no write access, a lock held too long, damage found by `check` (`PRAGMA quick_check`) —
        raises `StoreUnavailable` with one line naming the fix, never a driver traceback."""
        path = Path(path)
        if path.is_dir():
            raise StoreUnavailable(f"{path} is a folder — set [store] path (or --db) to a database file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(_explain(path, exc)) from None
        try:
            try:
                conn.row_factory = aiosqlite.Row
                await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                await conn.execute("PRAGMA journal_mode=WAL")
                await conn.execute("PRAGMA synchronous=NORMAL")
                await conn.execute("PRAGMA foreign_keys=ON")
                # replaced and deleted content is overwritten with zeros, so erased customer text (`threaddesk
                # customer forget`, [retention]) is not left in free space; the WAL is truncated after an erasure
                await conn.execute("PRAGMA secure_delete=ON")
                db = cls(conn, path)
                if check:
                    problems = await db.integrity_problems()
                    if problems:
                        raise StoreUnavailable(_explain(path, sqlite3.DatabaseError(f"malformed: {problems[0]}")))
                if migrate:
                    await db.migrate()
            except sqlite3.Error as exc:
                raise StoreUnavailable(_explain(path, exc)) from None
            yield db
        finally:
            await conn.close()

    async def integrity_problems(self, *, full: bool = False) -> list[str]:
        """What SQLite's integrity check finds (empty when the file is sound). `quick_check` is linear in
        the file's size and skips index cross-checks; `full` runs `integrity_check`."""
        pragma = "integrity_check" if full else "quick_check"
        rows = await self.conn.execute_fetchall(f"PRAGMA {pragma}")
        found = [str(row[0]) for row in rows]
        return [] if found == ["ok"] else found

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied."""
        current = await self.schema_version()
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path} has schema version {current}, newer than this ThreadDesk ({SCHEMA_VERSION}). "
                "Upgrade ThreadDesk or use another database."
            )
        applied: list[int] = []
        for version in range(current + 1, SCHEMA_VERSION + 1):
            async with self._lock:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(MIGRATIONS[version - 1]):
                        await self.conn.execute(statement)
                    await self.conn.execute(f"PRAGMA user_version = {version}")
                    await self.conn.commit()
                except BaseException:
                    await self.conn.rollback()
                    raise
            log.info("database %s migrated to schema version %d", self.path, version)
            applied.append(version)
        return applied

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` after every committed transaction (wakes the delivery worker)."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One unit of work: commits on success, rolls back on any exception."""
        async with self._lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                await self.conn.commit()
            except BaseException:
                # Also on cancellation (a task stopped mid-command, even during BEGIN or COMMIT, whose
                # statement still runs on the database thread): never leave the shared connection inside
                # a transaction, or every later command would fail. Shielded so a second cancel can't skip it.
                await asyncio.shield(self._rollback())
                raise
        for callback in self._after_commit:
            callback()

    async def _rollback(self) -> None:
        await self.conn.execute_fetchall("SELECT 1")  # statements run in order: wait for a cancelled one
        if self.conn.in_transaction:
            await self.conn.rollback()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[aiosqlite.Connection]:
        """For exactly one writing statement, which SQLite makes atomic by itself: one round trip to the
        database thread instead of BEGIN, statement, COMMIT."""
        async with self._lock:
            yield self.conn

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads share the one connection, so they wait for a running transaction to finish."""
        async with self._lock:
            yield self.conn


def _statements(script: str) -> list[str]:
    """Split a migration into statements; a `;` inside a trigger's BEGIN … END does not end one."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                statements.append(pending.strip())
            pending = ""
    return statements


__all__ = ["Database", "SchemaTooNew", "StoreUnavailable", "fetch_all", "fetch_one", "from_db", "opt_from_db", "to_db"]


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
    """One round trip to the database thread (a cursor context would take three)."""
    rows = list(await conn.execute_fetchall(sql, params))
    return rows[0] if rows else None


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
    return list(await conn.execute_fetchall(sql, params))
