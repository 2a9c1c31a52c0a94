"""`threaddesk db backup` during a burst of intake, checked with the integrity check and counts; `db restore`
refuses a database in use and otherwise puts the backup in place."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from bot import storage as backups
from bot.ports import Store
from bot.services.desk import Desk
from tests.conftest import UserRef, dm

BURST = 60


def _consistent(path: Path) -> tuple[int, int, int]:
    """Tickets, their 'opened' events and the tickets with a first message: equal in a consistent copy."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tickets = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        opened = conn.execute("SELECT COUNT(*) FROM ticket_events WHERE kind='opened'").fetchone()[0]
        logged = conn.execute(
            "SELECT COUNT(DISTINCT ticket) FROM ticket_messages WHERE author_role='customer'"
        ).fetchone()[0]
    return tickets, opened, logged


async def test_backup_during_a_burst_is_consistent_and_intake_goes_on(
    desk: Desk, db_path: Path, tmp_path: Path
) -> None:
    started = asyncio.Event()

    async def burst() -> None:
        for n in range(BURST):
            await desk.receive(dm(UserRef(platform="test", id=f"c{n}", name=f"C{n}"), f"Problem number {n} with sync"))
            if n == 5:
                started.set()

    writer = asyncio.create_task(burst())
    await started.wait()  # intake is running: back up now, from another connection, in another thread
    target = tmp_path / "backups" / "desk-backup.db"
    snapshot = await asyncio.to_thread(backups.backup, db_path, target)
    await writer
    assert target.exists() and not list(target.parent.glob(".*partial"))
    with contextlib.closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    tickets, opened, logged = _consistent(target)
    assert 6 <= tickets <= BURST and tickets == opened == logged  # a snapshot between two units of work
    assert snapshot.counts["tickets"] == tickets
    assert _consistent(db_path) == (BURST, BURST, BURST)  # intake was never stopped

    with pytest.raises(backups.BackupError, match="already exists — a backup never overwrites"):
        backups.backup(db_path, target)


def test_cli_backup_and_restore(tmp_path: Path) -> None:
    db_file = tmp_path / "desk.db"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "migrate", "--db", str(db_file)]).exit_code == 0
    with contextlib.closing(sqlite3.connect(db_file, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO tickets (subject, description, customer_platform, customer_id, customer_name, origin_channel,"
            " priority, category, status, created_at, updated_at) VALUES ('s', 'd', 'test', 'a', 'A', 'c', 'normal',"
            " 'general', 'new', '2026-11-02T09:00:00.000000Z', '2026-11-02T09:00:00.000000Z')"
        )
    backup_file = tmp_path / "nightly.db"
    result = runner.invoke(app, ["db", "backup", str(backup_file), "--db", str(db_file)])
    assert result.exit_code == 0, result.output
    assert "integrity check ok" in result.output and "1 ticket(s)" in result.output

    with contextlib.closing(sqlite3.connect(db_file, isolation_level=None)) as conn:
        conn.execute("DELETE FROM tickets")  # an accident the backup undoes
    result = runner.invoke(app, ["db", "restore", str(backup_file), "--db", str(db_file)])
    assert result.exit_code == 0, result.output
    assert f"Restored {db_file} from {backup_file}: integrity check ok" in result.output
    assert "before-restore-" in result.output
    assert _consistent(db_file)[0] == 1

    result = runner.invoke(app, ["db", "restore", str(tmp_path / "missing.db"), "--db", str(db_file)])
    assert result.exit_code == 1 and "missing.db does not exist" in result.output


async def test_restore_refuses_a_database_in_use(db: Store, db_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    await asyncio.to_thread(backups.backup, db_path, copy)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["db", "restore", str(copy), "--db", str(db_path)])
    assert result.exit_code == 1
    assert "is in use (a running ThreadDesk has it open): stop it first" in result.output
    assert "Traceback" not in result.output
