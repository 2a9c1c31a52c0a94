"""The report's SLA figures as of now and the dashboard's SLA filters (schema 13): the same numbers and pages
as the old queries over every alert in history, read from the open tickets and each one's alerts by key."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.ticket import Status
from bot.records import QueueFilter
from bot.store.sqlite.connection import to_db
from bot.store.sqlite.reports import AT_RISK, BREACHED_OPEN, SqliteReports
from bot.store.sqlite.web import page_sql

ACTIVE = [s for s in Status if s.is_active]
_ACTIVE_IN = "status IN ('new','open','pending','on_hold')"
#: The queries before schema 13, verbatim.
OLD_AT_RISK = (
    f"SELECT COUNT(DISTINCT w.ticket) FROM sla_alerts w JOIN tickets t ON t.number = w.ticket"
    f" WHERE w.level='warning' AND t.{_ACTIVE_IN} AND NOT EXISTS (SELECT 1 FROM sla_alerts b"
    " WHERE b.ticket = w.ticket AND b.target = w.target AND b.level='breach')"
)
OLD_BREACHED_OPEN = (
    f"SELECT COUNT(DISTINCT b.ticket) FROM sla_alerts b JOIN tickets t ON t.number = b.ticket"
    f" WHERE b.level='breach' AND t.{_ACTIVE_IN}"
)
OLD_SLA_FILTER = {
    "breached": "number IN (SELECT ticket FROM sla_alerts WHERE level = 'breach')",
    "at_risk": "number IN (SELECT ticket FROM sla_alerts WHERE level = 'warning')"
    " AND number NOT IN (SELECT ticket FROM sla_alerts WHERE level = 'breach')",
}
_OLD_ORDER = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, created_at, number"


def fill(conn: sqlite3.Connection, n: int, *, seed: int) -> None:
    """Tickets of every status in two teams, with warnings and breaches on either target in any mix."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    tickets, alerts, routing = [], [], []
    for number in range(1, n + 1):
        at = to_db(start + timedelta(hours=number))
        status = rng.choice([s.value for s in Status])
        priority = rng.choice(("low", "normal", "high", "urgent"))
        tickets.append((number, f"t{number}", priority, status, at, at))
        routing.append((number, rng.choice(("billing", "tech"))))
        for target in ("first_response", "resolution"):
            r = rng.random()
            if r < 0.4:
                alerts.append((number, target, "warning", at, at))
            if r < 0.15 or r > 0.9:  # breaches with and without a warning first
                alerts.append((number, target, "breach", at, at))
    conn.executemany(
        "INSERT INTO tickets (number, subject, description, customer_platform, customer_id, customer_name,"
        " origin_channel, origin_thread, priority, category, status, created_at, updated_at)"
        " VALUES (?, 's', 'd', 'test', 'c', 'C', 'support', ?, ?, 'general', ?, ?, ?)",
        tickets,
    )
    conn.executemany("INSERT INTO sla_alerts (ticket, target, level, due_at, fired_at) VALUES (?, ?, ?, ?, ?)", alerts)
    conn.executemany("INSERT INTO ticket_routing (ticket, team) VALUES (?, ?)", routing)


def count(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])


def plan(conn: sqlite3.Connection, sql: str, args: list[Any] | tuple[()] = ()) -> str:
    return "\n".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall())


@pytest.mark.parametrize("seed", range(4))
def test_at_risk_and_breached_open_count_what_they_counted_before(conn: sqlite3.Connection, seed: int) -> None:
    fill(conn, 300, seed=seed)
    assert count(conn, OLD_AT_RISK) > 0 and count(conn, OLD_BREACHED_OPEN) > 0
    assert count(conn, AT_RISK) == count(conn, OLD_AT_RISK)
    assert count(conn, BREACHED_OPEN) == count(conn, OLD_BREACHED_OPEN)


@contextmanager
def old_scope(conn: sqlite3.Connection, team: str | None) -> Iterator[None]:
    """`SqliteReports._scope` before schema 13: TEMP views filtering on the team's whole ticket list."""
    tables = {"tickets": "number", "ticket_events": "ticket", "sla_alerts": "ticket", "csat": "ticket"}
    if team is not None:
        scope = f"(SELECT ticket FROM main.ticket_routing WHERE team = '{team}')"
        for table, column in tables.items():
            conn.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM main.{table} WHERE {column} IN {scope}")
    try:
        yield
    finally:
        for table in tables:
            conn.execute(f"DROP VIEW IF EXISTS temp.{table}")


@pytest.mark.parametrize("team", [None, "billing", "tech", "nobody"])
def test_the_report_counts_them_the_same_for_the_desk_and_for_each_team(
    conn: sqlite3.Connection, team: str | None
) -> None:
    fill(conn, 300, seed=9)
    reports = SqliteReports(conn)
    now = datetime(2026, 1, 10, tzinfo=UTC)
    report = asyncio.run(reports.report(now - timedelta(days=7), now, team=team))
    with old_scope(conn, team):
        assert (report.at_risk, report.breached_open) == (count(conn, OLD_AT_RISK), count(conn, OLD_BREACHED_OPEN))
        assert report == asyncio.run(reports._compute(now - timedelta(days=7), now))  # every figure, old views
    if team != "nobody":
        assert report.created > 0 and report.sla_breached > 0 and report.at_risk > 0


def test_sla_counts_read_open_tickets_and_their_alerts_by_key(conn: sqlite3.Connection) -> None:
    for sql in (AT_RISK, BREACHED_OPEN):
        found = plan(conn, sql)
        assert "SCAN t USING COVERING INDEX ix_tickets_open_rank" in found, found
        assert "ix_sla_alerts_due" not in found, found  # no pass over every alert of a level in history
        assert "SEARCH w USING PRIMARY KEY (ticket=?)" in found or "SEARCH b USING PRIMARY KEY (ticket=?" in found


@pytest.mark.parametrize("sla", ["breached", "at_risk"])
@pytest.mark.parametrize("page", [1, 2])
def test_web_sla_filters_show_the_same_page_and_count(conn: sqlite3.Connection, sla: str, page: int) -> None:
    fill(conn, 300, seed=3)
    f = QueueFilter(statuses=ACTIVE, sla=sla, page=page, per_page=15)
    where = f"status NOT IN ('resolved', 'closed') AND {OLD_SLA_FILTER[sla]}"
    old_page = conn.execute(
        f"SELECT number FROM tickets WHERE {where} ORDER BY {_OLD_ORDER} LIMIT 15 OFFSET ?", ((page - 1) * 15,)
    ).fetchall()
    old_total = count(conn, f"SELECT COUNT(*) FROM tickets WHERE {where}")
    (sql, args), (count_sql, count_args) = page_sql(f)
    assert [r[0] for r in conn.execute(sql, args).fetchall()] == [r[0] for r in old_page]
    assert old_page
    assert conn.execute(count_sql, count_args).fetchone()[0] == old_total
    found = plan(conn, sql, args)
    assert "USE TEMP B-TREE FOR ORDER BY" not in found and "ix_sla_alerts_due" not in found, found
