"""One running ThreadDesk per database: a second one stops at start naming the first; a crashed one is
taken over — at once on the same host, after its lease lapses elsewhere."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.records import Holder
from bot.storage import open_store
from bot.writer_lease import _me
from tests.e2e.test_console import CONFIG, ROOT, threaddesk
from tests.fakes.clock import FakeClock
from tests.fakes.patience import wait_until


def holder_pid(path: Path) -> int | None:
    try:
        with sqlite3.connect(path) as conn:
            row = conn.execute("SELECT pid FROM leases WHERE role = 'writer'").fetchone()
    except sqlite3.Error:  # not created or not migrated yet
        return None
    return int(row[0]) if row else None


def test_a_second_console_on_the_same_database_is_refused_and_a_killed_one_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    # a lease far longer than the test: a first console stalled by a loaded machine still holds the database,
    # and taking over from the killed one must come from seeing its process gone, not from the lease lapsing
    config = tmp_path / "config.toml"
    example = CONFIG.read_text(encoding="utf-8")
    config.write_text(
        example.replace("lease_seconds = 15", "lease_seconds = 3600").replace(
            '"kb/sample"', f'"{ROOT / "kb" / "sample"}"'
        ),
        encoding="utf-8",
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "console", "--config", str(config), "--db", str(path)],
        stdin=subprocess.PIPE,  # kept open: the console waits for the next line
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:

        def holding() -> bool:  # ready once it holds the database
            assert first.poll() is None, "the first console exited"
            return holder_pid(path) == first.pid

        wait_until(holding, "the first console to hold the database")
        second = threaddesk("console", "--config", str(config), "--db", str(path))
        assert second.returncode == 2
        [line] = second.stderr.strip().splitlines()
        assert line.startswith(f"error: {path} is in use by another ThreadDesk (host ")
        assert f"pid {first.pid}, since " in line and "stop that one first" in line
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    third = threaddesk("console", "--config", str(config), "--db", str(path), stdin="hello, is anyone there?\n")
    assert third.returncode == 0, third.stderr
    assert "Bye — everything is saved" in third.stdout
    assert holder_pid(path) is None  # released at a clean exit


async def test_a_lease_held_elsewhere_lapses_after_its_time(tmp_path: Path) -> None:
    clock = FakeClock()
    ttl = timedelta(seconds=15)
    async with open_store(tmp_path / "desk.db") as db:
        other = Holder("their-token", "another-host", 4242, clock.now(), clock.now() + ttl)
        async with db.transaction() as uow:
            assert await uow.leases.take("writer", other, clock.now()) is None
        mine = _me("my-token", clock.now(), ttl)
        async with db.transaction() as uow:
            assert await uow.leases.take("writer", mine, clock.now()) == other  # alive as far as we know
        clock.advance(seconds=14)
        async with db.transaction() as uow:
            assert await uow.leases.renew("writer", "their-token", clock.now() + ttl)  # they renew in time
        clock.advance(seconds=14)
        async with db.transaction() as uow:
            assert await uow.leases.take("writer", _me("my-token", clock.now(), ttl), clock.now()) is not None
        clock.advance(seconds=1)  # 15 s since their last renewal: lapsed
        async with db.transaction() as uow:
            assert await uow.leases.take("writer", mine, clock.now()) is None
            assert not await uow.leases.renew("writer", "their-token", clock.now() + ttl)  # theirs no more
            assert (await uow.leases.current("writer")).token == mine.token  # type: ignore[union-attr]
