"""Schema 16 on PostgreSQL: pg_trgm's GIN index serves the dashboard's `ILIKE` search and a GIN index on
`tags` its tag filter; a desk at 15 gets both built by `db migrate`; a server without pg_trgm stops the
migration with one line."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from typer.testing import CliRunner

from adapters.cli import app
from bot.domain.ticket import Status
from bot.records import QueueFilter
from bot.store.postgres import schema as pg_schema
from bot.store.postgres.web import page_sql
from tests import pg

ACTIVE = tuple(s for s in Status if s.is_active)


async def _fill(schema: str, n: int) -> None:
    conn = await asyncpg.connect(pg.URL, server_settings={"search_path": schema})
    try:
        await conn.execute(
            "INSERT INTO tickets (subject, description, customer_platform, customer_id, customer_name,"
            " origin_channel, origin_thread, priority, category, tags, status, created_at, updated_at)"
            " SELECT 'Subject ' || i, 'text ' || i, 'test', 'c' || i, 'Name ' || i, 'dm', 't' || i, 'normal',"
            " 'general', CASE WHEN i % 3 = 0 THEN '[\"vip\"]'::jsonb ELSE '[]'::jsonb END,"
            " CASE WHEN i % 2 = 0 THEN 'open' ELSE 'closed' END, now(), now()"
            f" FROM generate_series(1, {n}) i"
        )
    finally:
        await conn.close()


async def _plan(schema: str, sql: str, args: list[object]) -> str:
    """The plan with sequential scans priced out: whether the index *can* serve the query (on a handful of
    rows the planner rightly prefers reading the table)."""
    conn = await asyncpg.connect(pg.URL, server_settings={"search_path": schema, "enable_seqscan": "off"})
    try:
        return "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *args))
    finally:
        await conn.close()


async def test_ilike_search_and_the_tag_filter_can_read_their_indexes() -> None:
    await pg.require_server()
    async with pg.migrated_schema() as schema, pg.open_in(schema):
        await _fill(schema, 50)
        # the count (no order to keep: the page may walk the rank index instead when its filter is common)
        for f in (QueueFilter(text="ubject 1"), QueueFilter(text="50%_x\\"), QueueFilter(text="ÉCHEC du")):
            sql, args = page_sql(f)[1]
            found = await _plan(schema, sql, args)
            assert "Bitmap Index Scan on ix_tickets_text" in found, found
        sql, args = page_sql(QueueFilter(tag="vip", sort="newest"))[1]
        assert "Bitmap Index Scan on ix_tickets_tags" in await _plan(schema, sql, args)


async def test_a_desk_at_15_gets_the_indexes_from_the_migration() -> None:
    await pg.require_server()
    async with pg.fresh_schema() as schema:
        await pg.create_schema(schema)
        conn = await asyncpg.connect(pg.URL, server_settings={"search_path": schema})
        try:
            for version in (14, 15):
                await conn.execute(pg_schema.MIGRATIONS[version])
            await conn.execute(
                "CREATE TABLE schema_version (version integer NOT NULL); INSERT INTO schema_version VALUES (15)"
            )
        finally:
            await conn.close()
        await _fill(schema, 30)
        async with pg.open_in(schema) as store:
            assert await store.schema_version() == pg_schema.SCHEMA_VERSION
            async with store.reading() as uow:
                found, total = await uow.web.queue_page(QueueFilter(text="NAME 2", sort="oldest"))
                vip, _ = await uow.web.queue_page(QueueFilter(tag="vip", statuses=ACTIVE, sort="oldest"))
        assert [t.number for t in found] == [2, *range(20, 30)] and total == 11
        assert [t.number for t in vip] == [6, 12, 18, 24, 30]
        indexes = await pg.query(
            schema,
            "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes"
            " WHERE schemaname = current_schema() AND indexname LIKE 'ix_tickets_t%'",
        )
        assert indexes == "ix_tickets_tags,ix_tickets_text"


async def test_a_server_without_pg_trgm_is_told_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The migration's own check, run against an extension no server has."""
    await pg.require_server()
    missing = pg_schema.MIGRATIONS[16].replace("'pg_trgm'", "'no_such_extension'")
    monkeypatch.setitem(pg_schema.MIGRATIONS, 16, missing)
    async with pg.fresh_schema() as schema:
        await pg.create_schema(schema)
        env = {"THREADDESK_DATABASE_URL": f"{pg.URL}?search_path={schema}"}
        result = await asyncio.to_thread(CliRunner().invoke, app, ["db", "migrate"], env=env)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
        assert pg_schema.NO_TRGM in result.output
        assert await pg.query(schema, "SELECT max(version) FROM schema_version") == 15  # 16 left for later
