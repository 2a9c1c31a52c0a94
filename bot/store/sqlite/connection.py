"""Plain `sqlite3` connections for the embedded store: opening one (with the one-line refusals), migrations,
moments as text, and the two fetch helpers the repositories use."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bot.ports import SchemaTooNew, StoreUnavailable
from bot.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
#: schema 16's search index uses FTS5's trigram tokenizer, which came with SQLite 3.34
TRIGRAM_SCHEMA = 16
TRIGRAM_SQLITE = (3, 34, 0)
Synchronous = Literal["NORMAL", "FULL"]


def to_db(moment: datetime) -> str:
    """UTC ISO-8601 with a fixed width (`2026-11-29T09:12:03.000000Z`), so text order is time order.
    `isoformat` writes it ~1.5x faster than `strftime`; a new ticket writes ~17 moments."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def from_db(value: str) -> datetime:
    # fromisoformat reads the fixed-width form (with its Z) about 20x faster than strptime: a queue page
    # of 50 tickets parses ~150 moments
    return datetime.fromisoformat(value)


def opt_from_db(value: str | None) -> datetime | None:
    return from_db(value) if value is not None else None


def fetch_one(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
    return row


def fetch_all(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def explain(path: Path, exc: Exception) -> str:
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


def connect(
    path: Path, *, synchronous: Synchronous = "NORMAL", busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun explicitly), WAL, foreign keys on."""
    if path.is_dir():
        raise StoreUnavailable(f"{path} is a folder — set [store] path (or --db) to a database file")
    try:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StoreUnavailable(explain(path, exc)) from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        # replaced and deleted content is overwritten with zeros, so erased customer text (`threaddesk
        # customer forget`, [retention]) is not left in free space; the WAL is truncated after an erasure
        conn.execute("PRAGMA secure_delete=ON")
    except sqlite3.Error as exc:
        conn.close()
        raise StoreUnavailable(explain(path, exc)) from None
    return conn


def integrity_problems(conn: sqlite3.Connection, *, full: bool = False) -> list[str]:
    """What SQLite's integrity check finds (empty when the file is sound). `quick_check` is linear in
    the file's size and skips index cross-checks; `full` runs `integrity_check`."""
    pragma = "integrity_check" if full else "quick_check"
    found = [str(row[0]) for row in conn.execute(f"PRAGMA {pragma}").fetchall()]
    return [] if found == ["ok"] else found


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, path: Path) -> list[int]:
    """Apply pending migrations, each in its own transaction; returns the versions applied."""
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{path} has schema version {current}, newer than this ThreadDesk ({SCHEMA_VERSION}). "
            "Upgrade ThreadDesk or use another database."
        )
    if current < TRIGRAM_SCHEMA <= SCHEMA_VERSION and sqlite3.sqlite_version_info < TRIGRAM_SQLITE:
        raise StoreUnavailable(
            f"{path} needs SQLite {'.'.join(map(str, TRIGRAM_SQLITE))} or newer for schema version {TRIGRAM_SCHEMA}"
            f" (the search index's trigram tokenizer); this Python has SQLite {sqlite3.sqlite_version} — use a"
            " Python built with a newer SQLite"
        )
    applied: list[int] = []
    for version in range(current + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("database %s migrated to schema version %d", path, version)
        applied.append(version)
    return applied


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
