"""Online backup and restore of the SQLite store (plain `sqlite3`: a separate connection, not the bot's).

Backup is `VACUUM INTO` a temporary file beside the target, which SQLite runs inside one read transaction:
a consistent snapshot, taken while the running bot keeps writing (WAL lets readers and the writer work at
once), and compact — free pages, which may still hold erased text, are not copied. The copy is checked
with `PRAGMA integrity_check` before it is renamed into place, so a file named FILE is always a good one.

Restore refuses a database that is in use: leaving WAL mode needs every other connection closed, so a
`PRAGMA journal_mode=DELETE` that fails with "locked" means a running ThreadDesk (or anything else) has it
open. The database being replaced is first kept as `<name>.before-restore-<UTC time>`, and the writer lease
the backup may carry (it was taken from a running desk) is cleared.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.records import BackupError, Snapshot
from bot.store.sqlite.schema import SCHEMA_VERSION

COUNTED = ("tickets", "ticket_messages", "ticket_events", "outbox", "kb_articles")
BUSY_MS = 30_000


def _connect(path: Path, *, timeout: float = BUSY_MS / 1000) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return conn


def inspect(path: Path) -> Snapshot:
    """Integrity check, schema version and row counts of a ThreadDesk database file."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                raise BackupError(f"{path} fails SQLite's integrity check: {'; '.join(result[:3])}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "tickets" not in tables:
                raise BackupError(f"{path} is not a ThreadDesk database (it has no tickets table)")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            counts = {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in COUNTED if t in tables}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from None
    return Snapshot(path, version, counts, path.stat().st_size)


def backup(source: Path, target: Path) -> Snapshot:
    """A consistent, checked copy of `source` at `target` (which must not exist yet)."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (check [store] path or --db)")
    if target.exists():
        raise BackupError(f"{target} already exists — a backup never overwrites; choose a new file name")
    if target.resolve() == source.resolve():
        raise BackupError("the backup file must not be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(_connect(source)) as conn:
            conn.execute("VACUUM INTO ?", (str(partial),))
        snapshot = inspect(partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        partial.rename(target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Snapshot(target, snapshot.schema_version, snapshot.counts, snapshot.size)


def restore(backup_file: Path, target: Path) -> tuple[Snapshot, Path | None]:
    """Replace `target` with `backup_file`. Returns the restored snapshot and where the old database was kept."""
    snapshot = inspect(backup_file)
    if snapshot.schema_version > SCHEMA_VERSION:
        raise BackupError(
            f"{backup_file} has schema version {snapshot.schema_version}, newer than this ThreadDesk "
            f"({SCHEMA_VERSION}): restore it with the version that made it"
        )
    kept: Path | None = None
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(_connect(target, timeout=0)) as conn:
        if target.stat().st_size > 0:
            try:
                mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            except sqlite3.OperationalError:
                mode = "wal"
            if str(mode).lower() == "wal":
                raise BackupError(
                    f"{target} is in use (a running ThreadDesk has it open): stop it first "
                    "(e.g. `systemctl stop threaddesk`), then restore"
                ) from None
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = target.with_name(f"{target.name}.before-restore-{stamp}")
            conn.execute("VACUUM INTO ?", (str(kept),))
        with contextlib.closing(sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)) as source:
            source.backup(conn)
        # a backup of a running desk holds that process's writer lease: nobody holds the restored database
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='leases'").fetchone():
            conn.execute("DELETE FROM leases")
    return inspect(target), kept
