"""One team's numbers with the very same metric definitions: `threaddesk report --team NAME` and the
digest's per-team lines.

`metrics.compute` reads `tickets`, `ticket_events`, `sla_alerts` and `csat` by their plain names. Inside
`team_view`, TEMP views with those names (which SQLite resolves before the main tables) show only the
team's tickets, so every metric is computed over the team's tickets by the one module that defines it —
no second copy of sixteen queries to drift apart. The views live only while the connection is held
(`db.reading()` is exclusive), and are dropped on the way out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import aiosqlite

from bot.services.metrics import Report, compute

_TABLES = ("tickets", "ticket_events", "sla_alerts", "csat")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@asynccontextmanager
async def team_view(conn: aiosqlite.Connection, team: str) -> AsyncIterator[None]:
    scope = f"(SELECT ticket FROM main.ticket_routing WHERE team = {_quote(team)})"
    try:
        for table in _TABLES:
            column = "number" if table == "tickets" else "ticket"
            await conn.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM main.{table} WHERE {column} IN {scope}")
        yield
    finally:
        for table in _TABLES:
            await conn.execute(f"DROP VIEW IF EXISTS temp.{table}")


async def team_report(conn: aiosqlite.Connection, team: str, since: datetime, until: datetime) -> Report:
    async with team_view(conn, team):
        return await compute(conn, since, until)
