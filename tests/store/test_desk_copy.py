"""`threaddesk db copy` at the core: a desk with history moves SQLite → PostgreSQL → SQLite and reads the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from bot.bootstrap import build_desk, open_knowledge_base
from bot.desk_copy import TABLES, CopyRefused, copy_desk
from bot.ports import Store
from bot.records import TicketQuery
from bot.storage import open_store
from tests import pg
from tests.conftest import make_settings, shared_matcher
from tests.fakes.clock import FakeClock
from tests.service.seeded import T0, seed


@pytest.fixture
async def seeded_sqlite(tmp_path: Path) -> AsyncIterator[Store]:
    clock = FakeClock()
    settings = make_settings()
    async with open_store(tmp_path / "source.db") as db:
        knowledge = await open_knowledge_base(settings, db, clock, build=shared_matcher)
        await seed(build_desk(settings, db, kb=knowledge, clock=clock), clock)
        yield db


async def _view(db: Store) -> tuple[object, ...]:
    """What a lead and an agent would see: the report's figures and every ticket."""
    async with db.reading() as uow:
        report = await uow.reports.report(T0 - timedelta(hours=1), T0 + timedelta(days=1))
        tickets = await uow.tickets.list_tickets(TicketQuery(limit=100))
        history = [await uow.history.events_for(t.number) for t in tickets]
    return report, tickets, history


async def test_a_desk_goes_to_postgresql_and_back_unchanged(seeded_sqlite: Store, tmp_path: Path) -> None:
    await pg.require_server()
    async with pg.migrated_schema() as schema, pg.open_in(schema) as middle:
        there = await copy_desk(seeded_sqlite, middle)
        assert [c.table for c in there] == list(TABLES) and all(c.source == c.target for c in there)
        assert {c.table: c.target for c in there}["tickets"] == 3
        # the next ticket opened on PostgreSQL is #4, not #1
        assert await pg.query(schema, "SELECT nextval(pg_get_serial_sequence('tickets', 'number'))") == 4
        async with open_store(tmp_path / "back.db") as back:
            await copy_desk(middle, back)
            assert await _view(back) == await _view(seeded_sqlite)


async def test_a_copy_into_a_desk_in_use_is_refused(seeded_sqlite: Store, tmp_path: Path) -> None:
    async with open_store(tmp_path / "other.db") as other:
        await copy_desk(seeded_sqlite, other)
        with pytest.raises(CopyRefused, match=r"already holds a desk \(tickets is not empty\)"):
            await copy_desk(seeded_sqlite, other)


async def test_threaddesk_db_copy_moves_a_desk_and_prints_the_verified_counts(
    seeded_sqlite: Store, tmp_path: Path
) -> None:
    await pg.require_server()
    async with pg.fresh_schema() as schema:
        await pg.create_schema(schema)
        url = f"{pg.URL}?search_path={schema}"  # asyncpg passes query parameters on as server settings
        source = tmp_path / "source.db"
        copied = await asyncio.to_thread(CliRunner().invoke, app, ["db", "copy", "--from", str(source), "--to", url])
        assert copied.exit_code == 0, copied.output
        lines = copied.output.splitlines()
        assert lines[0] == f"Copied {source} → {url}:"
        assert "  tickets  " in lines[1] and lines[1].endswith(" 3")
        assert lines[-1] == f"Verified: each of the {len(TABLES)} tables holds as many rows as in {source}."

        again = await asyncio.to_thread(CliRunner().invoke, app, ["db", "copy", "--from", str(source), "--to", url])
        assert again.exit_code == 2
        assert "already holds a desk (tickets is not empty) — copy into a new, empty database" in again.output
        assert "Traceback" not in again.output

    missing = await asyncio.to_thread(
        CliRunner().invoke, app, ["db", "copy", "--from", str(tmp_path / "nope.db"), "--to", str(tmp_path / "x.db")]
    )
    assert missing.exit_code == 2 and "nope.db: no such file" in missing.output
