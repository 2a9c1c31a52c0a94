"""The embedded engine: one plain `sqlite3` writer connection driven from the event loop, with group commit.

Why no database thread: a unit of work is a handful of statements of a few microseconds each, and handing
every statement to a thread (aiosqlite) cost ~50 µs of hand-off apiece — most of intake's time. Here a
unit's statements run where the unit runs. Units take turns, and the COMMIT after a unit waits until the
tasks that are ready to run have had their turn: every unit they add joins the same transaction, and one
COMMIT (at most `batch_limit` units, or `MAX_BATCH_DELAY` of them) makes them all durable at once. Each unit
runs under its own SAVEPOINT, so one that fails rolls back alone, and no unit's caller resumes before the
COMMIT that holds its work — a crash loses nothing a caller was told is stored.

Nothing here blocks the event loop on another process: the write lock is taken with `BEGIN IMMEDIATE` and
no busy wait, and while another process holds it the unit waits asynchronously. Inside a transaction no
statement waits on other processes (WAL: readers never block the one writer). Reads use a second
connection, so reports never wait for a unit in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bot.ports import StoreUnavailable
from bot.records import Snapshot, TableRows
from bot.store.sqlite import backup as backups
from bot.store.sqlite.connection import (
    BUSY_TIMEOUT_MS,
    Synchronous,
    connect,
    explain,
    integrity_problems,
    migrate,
    schema_version,
)
from bot.store.sqlite.unit_of_work import SqliteUnitOfWork

log = logging.getLogger(__name__)

#: A batch stops taking units once its first unit's caller has waited this long; its COMMIT follows the unit
#: that ends it (so under load a batch still holds at least two units, and no caller waits much longer).
MAX_BATCH_DELAY = 0.002


class _Turn:
    """The writer's turn: one unit at a time, handed over in arrival order — except that units asked for
    `first` (keeping an inbound event before its acknowledgement) go ahead of every ordinary unit waiting.
    The turn passes straight from the unit that ends to the next waiting one, so nobody arriving meanwhile
    can take it out of order."""

    def __init__(self) -> None:
        self._held = False
        self._first: deque[asyncio.Future[None]] = deque()
        self._rest: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._held

    @property
    def waiting(self) -> int:
        return len(self._first) + len(self._rest)

    async def acquire(self, *, first: bool = False) -> None:
        if not self._held:  # (the queues are empty whenever it is free)
            self._held = True
            return
        queue = self._first if first else self._rest
        turn = asyncio.get_running_loop().create_future()
        queue.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn, then cancelled before taking it: pass it on
            elif turn in queue:
                queue.remove(turn)
            raise

    def release(self) -> None:
        for queue in (self._first, self._rest):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # still held: it is this unit's now
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.release()


class _Batch:
    """Units that share one transaction; `committed` resolves when its COMMIT has run."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.committed: asyncio.Future[None] = loop.create_future()
        self.units = 0
        self.first_done: float | None = None  # when its first unit ended: its caller has waited since


class SqliteStore:
    """Implements `bot.ports.Store`. Open with `async with SqliteStore.open(path) as store:`."""

    engine = "sqlite"

    def __init__(self, path: Path, writer: sqlite3.Connection, reader: sqlite3.Connection, *, batch_limit: int) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_uow = SqliteUnitOfWork(writer)
        self._read_uow = SqliteUnitOfWork(reader)
        self._turn = _Turn()  # one unit at a time on the writer connection
        self._batch: _Batch | None = None
        self._batch_limit = batch_limit
        self._after_commit: list[Callable[[], None]] = []
        self.commits = 0  # transactions committed (the group-commit figure in bench/intake.py)
        self._exclusive: set[str] = set()  # keys held (`exclusive`)

    @property
    def location(self) -> str:
        return str(self.path)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        path: Path | str,
        *,
        migrate: bool = True,
        check: bool = False,
        synchronous: Synchronous = "NORMAL",
        batch_limit: int = 256,
    ) -> AsyncIterator[SqliteStore]:
        """Open (and create) the database. Anything that makes it unusable — a folder or a non-database at
        the path, no write access, a lock held too long, damage found by `check` (`PRAGMA quick_check`) —
        raises `StoreUnavailable` with one line naming the fix, never a driver traceback."""
        path = Path(path)
        writer = connect(path, synchronous=synchronous)
        reader: sqlite3.Connection | None = None
        try:
            try:
                if check:
                    problems = integrity_problems(writer)
                    if problems:
                        raise StoreUnavailable(explain(path, sqlite3.DatabaseError(f"malformed: {problems[0]}")))
                if migrate:
                    _migrate(writer, path)
                # the writer never busy-waits (that would stall the event loop): `_begin` waits instead
                writer.execute("PRAGMA busy_timeout=0")
                reader = connect(path, synchronous=synchronous) if str(path) != ":memory:" else writer
                store = cls(path, writer, reader, batch_limit=batch_limit)
            except sqlite3.Error as exc:
                raise StoreUnavailable(explain(path, exc)) from None
            yield store
            await store._settle()
        finally:
            if reader is not None and reader is not writer:
                reader.close()
            writer.close()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` after every committed transaction (wakes the delivery worker)."""
        self._after_commit.append(callback)

    def on_notice(self, topic: str, callback: Callable[[], None]) -> None:
        """SQLite cannot announce changes to other processes: they poll (`kb_revision`)."""

    @asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[SqliteUnitOfWork]:
        """One unit of work: stored when the block ends without an exception (and only then does the
        block's caller go on), rolled back alone on any exception. `first`: it takes the writer's turn
        ahead of the ordinary units waiting for it (it still joins, and waits for, the open batch's COMMIT)."""
        batch = await self._take_turn(first)
        try:
            self._writer.execute("SAVEPOINT unit")
        except BaseException:
            self._end_turn(batch)
            raise
        try:
            yield self._write_uow
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # a failed statement may have rolled back already
                self._writer.execute("ROLLBACK TO unit")
                self._writer.execute("RELEASE unit")
            self._end_turn(batch)
            raise
        self._writer.execute("RELEASE unit")
        batch.units += 1
        self._end_turn(batch)
        await asyncio.shield(batch.committed)

    @asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[bool]:
        """Held in this process: a SQLite desk has one process at work (the writer lease, `bot.writer_lease`),
        so any other holder is in this one."""
        if key in self._exclusive:
            yield False
            return
        self._exclusive.add(key)
        try:
            yield True
        finally:
            self._exclusive.discard(key)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqliteUnitOfWork]:
        """Reads on their own connection: they see what is committed and never wait for a unit in progress."""
        yield self._read_uow

    async def _take_turn(self, first: bool) -> _Batch:
        await self._turn.acquire(first=first)
        try:
            if self._batch is None:
                await self._begin()
                self._batch = _Batch(asyncio.get_running_loop())
            return self._batch
        except BaseException:
            self._turn.release()
            raise

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting without blocking the loop while another process holds the write lock."""
        delay, waited = 0.001, 0.0
        while True:
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreUnavailable(explain(self.path, exc)) from None
                if waited >= BUSY_TIMEOUT_MS / 1000:
                    raise StoreUnavailable(explain(self.path, exc)) from None
            await asyncio.sleep(delay)  # SQLite offers no notification when another process lets go
            waited += delay
            delay = min(delay * 2, 0.05)

    def _end_turn(self, batch: _Batch) -> None:
        self._turn.release()
        loop = asyncio.get_running_loop()
        now = loop.time()
        if batch.first_done is None:
            batch.first_done = now
        if batch.units >= self._batch_limit or now - batch.first_done >= MAX_BATCH_DELAY:
            # a busy loop would otherwise keep adding units (and the first unit's caller waiting): a
            # Slack acknowledgement waits on such a commit
            self._commit(batch)
        else:
            # A unit runs without yielding, so nobody can have queued behind it yet: the COMMIT waits for
            # the tasks that are ready now to run (and add their units to this batch) first.
            loop.call_soon(self._commit_if_idle, batch)

    def _commit_if_idle(self, batch: _Batch) -> None:
        if self._batch is batch and not self._turn.locked() and not self._turn.waiting:
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        if self._batch is not batch:
            return
        self._batch = None
        try:
            self._writer.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._writer.execute("ROLLBACK")
            batch.committed.set_exception(StoreUnavailable(explain(self.path, exc)))
            batch.committed.exception()  # retrieved here too: no "never retrieved" warning when nobody waits
            return
        self.commits += 1
        batch.committed.set_result(None)
        for callback in self._after_commit:
            callback()

    async def _settle(self) -> None:
        """Let a batch still open (its units cancelled mid-flight) end before the connection closes."""
        if self._batch is not None and not self._turn.locked():
            self._commit(self._batch)

    # -- maintenance (off the event loop: each opens its own connection) --------------------------------

    async def schema_version(self) -> int:
        return schema_version(self._reader)

    async def migrate(self) -> list[int]:
        async with self._turn:
            return _migrate(self._writer, self.path)

    async def integrity_problems(self, *, full: bool = False) -> list[str]:
        return await asyncio.to_thread(_check, self.path, full)

    async def compact_log(self) -> None:
        """Copy the WAL into the database file and empty it (after an erasure, so erased text does not
        linger there). Waits for other connections' reads, in a thread."""
        await asyncio.to_thread(_checkpoint, self.path)

    # -- whole tables (`threaddesk db copy`) -------------------------------------------------------------

    async def dump_table(self, table: str, batch: int) -> AsyncIterator[TableRows]:
        columns = tuple(
            r[1] for r in self._reader.execute(f"PRAGMA table_xinfo({table})").fetchall() if r[6] == 0
        )  # hidden 0: a stored column, not a generated one
        cursor = self._reader.execute(f"SELECT {', '.join(columns)} FROM {table}")
        while rows := cursor.fetchmany(batch):
            yield TableRows(table, columns, [tuple(r) for r in rows])
            await asyncio.sleep(0)

    async def load_table(self, table: str, rows: TableRows) -> None:
        mine = {r[1] for r in self._writer.execute(f"PRAGMA table_xinfo({table})").fetchall() if r[6] == 0}
        keep = [i for i, c in enumerate(rows.columns) if c in mine]
        names = ", ".join(rows.columns[i] for i in keep)
        async with self.transaction():
            self._writer.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(keep))})",
                [tuple(row[i] for i in keep) for row in rows.rows],
            )

    async def count_rows(self, table: str) -> int:
        return int(self._reader.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    async def clear_table(self, table: str) -> None:
        async with self.transaction():
            self._writer.execute(f"DELETE FROM {table}")

    async def after_load(self) -> None:
        """SQLite numbers new rows after the highest key present (AUTOINCREMENT keeps its own record, which
        the inserts advanced)."""

    async def backup(self, target: Path) -> Snapshot:
        return await asyncio.to_thread(backups.backup, self.path, target)


def _migrate(conn: sqlite3.Connection, path: Path) -> list[int]:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        return migrate(conn, path)
    finally:
        conn.execute("PRAGMA busy_timeout=0")


def _check(path: Path, full: bool) -> list[str]:
    with contextlib.closing(connect(path)) as conn:
        return integrity_problems(conn, full=full)


def _checkpoint(path: Path) -> None:
    with contextlib.closing(connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
