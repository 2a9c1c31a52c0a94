"""`threaddesk customer export|forget` and the `[retention] message_days` purge, on a desk that was used:
what a person wrote is gone from the rows, the free pages and the WAL; numbers, times and ratings stay."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from adapters.cli import app
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.records import ERASED
from bot.scheduler import Scheduler
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, CAROL, dm
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.fakes.sql import sql
from tests.service.test_kb_loop import press

SECRET = "my flat is 12 Quarry Lane"
WORDING = "the password reset email never shows up for Quarry Lane"


async def _alice_uses_the_desk(desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform) -> None:
    await desk.receive(dm(ALICE, WORDING, message_id="a1"))
    await worker.drain()
    await press(desk, ALICE, platform, "dm-alice", "a1", "This solved it: Can't log in")  # teaches the KB
    await desk.receive(dm(ALICE, f"Also the invoice went to the old address, {SECRET}", message_id="a2"))
    await desk.run(BOB, "/ticket reply 2 Fixed the billing address.")
    await desk.run(BOB, "/ticket resolve 2 Address updated")
    await desk.run(ALICE, f"/ticket close 2 thanks, {SECRET} is right now")
    await desk.run(ALICE, f"/ticket rate 2 5 Quick help with {SECRET}")
    await desk.receive(dm(CAROL, "Carol's own problem with exports", message_id="c1"))
    await worker.drain()


async def cli(*args: str) -> Result:
    """The command in a thread: it runs its own event loop, as `threaddesk` does in a second process."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def _raw(db_path: Path) -> bytes:
    """Every byte SQLite keeps for the database: the file, its WAL and shared memory."""
    parts = [db_path, db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


async def test_export_then_forget_a_customer(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db: Store, db_path: Path
) -> None:
    await _alice_uses_the_desk(desk, worker, platform)
    exported = await cli("customer", "export", "test:alice", "--db", str(db_path))
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.stdout)
    assert data["person"] == {
        "platform": "test",
        "id": "alice",
        "name": "Alice",
        "last_seen": data["person"]["last_seen"],
    }
    assert [t["number"] for t in data["tickets"]] == [1, 2]
    assert data["tickets"][1]["rating"]["comment"] == f"Quick help with {SECRET}"
    assert any(SECRET in m["body"] for m in data["tickets"][1]["messages"])
    assert [w["text"] for w in data["learned_kb_wordings"]] == [WORDING]
    assert "Carol" not in exported.stdout

    dry = await cli("customer", "forget", "test:alice", "--dry-run", "--db", str(db_path))
    assert dry.exit_code == 0, dry.output
    assert "Dry run — would erase for test:alice: 2 message text(s)" in dry.output
    assert "1 learned KB wording(s), 1 rating comment(s)" in dry.output and "tickets: #1, #2" in dry.output
    assert SECRET.encode() in _raw(db_path)

    done = await cli("customer", "forget", "test:alice", "--db", str(db_path))
    assert done.exit_code == 0, done.output
    assert done.output.startswith("Erased for test:alice: 2 message text(s)")
    raw = _raw(db_path)
    for gone in (SECRET, "Quarry", "password reset email never shows up", "Alice"):
        assert gone.encode() not in raw, f"{gone!r} is still in the database file"

    shown = (await desk.run(BOB, "/ticket show 2")).text
    assert ERASED in shown and "Fixed the billing address." in shown  # the agent's reply stays
    assert "customer data erased" in shown  # recorded in the ticket's history
    ticket = await desk.ticket(2)
    assert ticket is not None and ticket.number == 2 and ticket.closed_at is not None
    rating = sql(db, "SELECT rating, comment FROM csat WHERE ticket=2")
    assert rating == [(5, ERASED)]  # the number stays for reports
    assert "Carol's own problem with exports" in (await desk.run(BOB, "/ticket show 3")).text
    shown_article = (await desk.run(BOB, "/kb show reset-password")).text
    assert "Quarry" not in shown_article
    again = await cli("customer", "export", "test:alice", "--db", str(db_path))
    assert SECRET not in again.stdout and "Alice" not in again.stdout


async def test_retention_purges_texts_of_tickets_closed_long_ago(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db: Store, db_path: Path, clock: FakeClock
) -> None:
    await _alice_uses_the_desk(desk, worker, platform)  # #2 is closed now; #1 resolved; #3 open
    scheduler = Scheduler(desk.ctx, message_days=30)
    await scheduler.start()
    assert not [line for line in await scheduler.tick() if line.startswith("retention")]  # nothing that old yet
    clock.advance(days=31)
    done = await scheduler.tick()
    assert "retention: message texts of 1 closed ticket(s) erased" in done
    async with db.reading() as uow:
        bodies = [m.body for m in await uow.messages.messages_for(2)]
        events = [e.kind for e in await uow.history.events_for(2)]
        open_bodies = [m.body for m in await uow.messages.messages_for(3)]
    assert set(bodies) == {ERASED} and events[-1] == "message_texts_purged"
    assert open_bodies[0] == "Carol's own problem with exports"  # not closed: kept
    assert SECRET.encode() not in _raw(db_path)
    clock.advance(minutes=30)
    assert not [line for line in await scheduler.tick() if line.startswith("retention")]  # hourly; once per ticket


async def test_finding_a_persons_messages_seeks_the_author_index(db: Store, db_path: Path) -> None:
    """`customer forget` finds what a person wrote by author; a scan of every message held the writer ~2 s
    at 100,000 tickets (BENCHMARKS.md)."""
    conn = sqlite3.connect(db_path)
    try:
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT DISTINCT ticket FROM ticket_messages"
                " WHERE author_platform=? AND author_id=? ORDER BY ticket",
                ("test", "alice"),
            )
        )
    finally:
        conn.close()
    assert "ix_messages_author" in plan, plan
