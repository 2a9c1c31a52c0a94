"""The queue's order as a column (schema 13): same tickets in the same order as the old `CASE` ordering, and
query plans that read the open-queue index in order and stop at the limit.

Plans are checked without `ANALYZE`, as the bot runs: with no statistics SQLite's estimates do not depend
on the number of rows, so the plan a small file gets here is the plan a file of a million tickets gets.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.refs import UserRef
from bot.domain.ticket import Priority, Status
from bot.records import QueueFilter, TicketQuery
from bot.store.sqlite.connection import to_db
from bot.store.sqlite.privacy import SqlitePrivacy
from bot.store.sqlite.tickets import OPEN, list_sql, priority_rank
from bot.store.sqlite.web import page_sql

ACTIVE = [s for s in Status if s.is_active]
_OLD_ORDER = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, created_at, number"


def old_list_sql(query: TicketQuery) -> tuple[str, list[Any]]:
    """`SqliteTickets.list_tickets` before schema 13, verbatim."""
    where: list[str] = []
    args: list[Any] = []
    if query.statuses:
        where.append(f"status IN ({','.join('?' * len(query.statuses))})")
        args.extend(s.value for s in query.statuses)
    if query.priorities:
        where.append(f"priority IN ({','.join('?' * len(query.priorities))})")
        args.extend(p.value for p in query.priorities)
    if query.customer:
        where.append("customer_platform=? AND customer_id=?")
        args.extend((query.customer.platform, query.customer.id))
    if query.assignee:
        where.append("customer_platform=? AND assignee_id=?")
        args.extend((query.assignee.platform, query.assignee.id))
    if query.unassigned:
        where.append("assignee_id IS NULL")
    sql = "SELECT * FROM tickets"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {_OLD_ORDER} LIMIT ?"
    args.append(query.limit)
    return sql, args


def old_page_sql(f: QueueFilter) -> tuple[str, list[Any]]:
    """`SqliteWeb.queue_page`'s page before schema 13, for the filters these tests use."""
    where: list[str] = []
    args: list[Any] = []
    if f.statuses and set(f.statuses) == set(ACTIVE):
        where.append(OPEN)
    elif f.statuses:
        where.append(f"status IN ({','.join('?' * len(f.statuses))})")
        args += [s.value for s in f.statuses]
    if f.priorities:
        where.append(f"priority IN ({','.join('?' * len(f.priorities))})")
        args += [p.value for p in f.priorities]
    if f.assignee:
        where.append("assignee_id = ?")
        args.append(f.assignee)
    if f.unassigned:
        where.append("assignee_id IS NULL")
    sql = "SELECT * FROM tickets" + (" WHERE " + " AND ".join(where) if where else "")
    return sql + f" ORDER BY {_OLD_ORDER} LIMIT ? OFFSET ?", [*args, f.per_page, (f.page - 1) * f.per_page]


def fill(conn: sqlite3.Connection, *, seed: int = 5) -> None:
    """Every priority × status × (assigned, unassigned) × two customers, three times over, with many tickets
    sharing a moment (so the `number` tie-break decides), inserted in shuffled order."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    rows = []
    combos = list(itertools.product(Priority, Status, (None, "agent1", "agent2"), ("alice", "bob"), range(3)))
    rng.shuffle(combos)
    for number, (priority, status, agent, customer, _) in enumerate(combos, start=1):
        at = to_db(start + timedelta(minutes=rng.randrange(40)))
        rows.append((number, customer, priority.value, status.value, agent, at))
    conn.executemany(
        "INSERT INTO tickets (number, subject, description, customer_platform, customer_id, customer_name,"
        " origin_channel, origin_thread, priority, category, status, assignee_id, assignee_name, created_at,"
        " updated_at) VALUES (?, 's', 'd', 'test', ?, 'C', 'support', ?, ?, 'general', ?, ?, ?, ?, ?)",
        [(n, c, f"t{n}", p, s, a, a, at, at) for n, c, p, s, a, at in rows],
    )


def numbers(conn: sqlite3.Connection, sql: str, args: list[Any]) -> list[int]:
    return [int(r["number"]) for r in conn.execute(sql, args).fetchall()]


def plan(conn: sqlite3.Connection, sql: str, args: list[Any]) -> str:
    return "\n".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall())


ALICE = UserRef(platform="test", id="alice")
AGENT = UserRef(platform="test", id="agent1")
QUERIES = [
    TicketQuery(statuses=ACTIVE),
    TicketQuery(statuses=ACTIVE, limit=7),
    TicketQuery(statuses=ACTIVE, priorities=[Priority.HIGH, Priority.URGENT]),
    TicketQuery(statuses=ACTIVE, priorities=[Priority.LOW]),
    TicketQuery(statuses=ACTIVE, unassigned=True),
    TicketQuery(statuses=ACTIVE, assignee=AGENT),
    TicketQuery(statuses=ACTIVE, customer=ALICE, limit=3),
    TicketQuery(statuses=[Status.OPEN, Status.PENDING]),
    TicketQuery(statuses=[Status.RESOLVED, Status.CLOSED], limit=500),
    TicketQuery(statuses=[s for s in Status if s is not Status.CLOSED], customer=ALICE, limit=100),
    TicketQuery(customer=ALICE, limit=100),
    TicketQuery(priorities=[Priority.NORMAL], limit=1000),
    TicketQuery(limit=10_000),
]


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_list_returns_the_same_tickets_in_the_same_order_as_the_case_ordering(
    conn: sqlite3.Connection, query: TicketQuery
) -> None:
    fill(conn)
    expected = numbers(conn, *old_list_sql(query))
    assert expected, "the data has tickets for every query"
    assert numbers(conn, *list_sql(query)) == expected


FILTERS = [
    QueueFilter(statuses=ACTIVE),
    QueueFilter(statuses=ACTIVE, page=2, per_page=20),
    QueueFilter(statuses=ACTIVE, priorities=[Priority.URGENT, Priority.NORMAL]),
    QueueFilter(statuses=ACTIVE, assignee="agent2"),
    QueueFilter(statuses=ACTIVE, unassigned=True),
    QueueFilter(statuses=[Status.ON_HOLD]),
    QueueFilter(per_page=500),
    QueueFilter(page=3, per_page=100),
]


@pytest.mark.parametrize("f", FILTERS, ids=range(len(FILTERS)))
def test_web_queue_most_urgent_first_is_the_same_page_as_before(conn: sqlite3.Connection, f: QueueFilter) -> None:
    fill(conn)
    expected = numbers(conn, *old_page_sql(f))
    assert expected
    assert numbers(conn, *page_sql(f)[0]) == expected


def test_priority_rank_column_agrees_with_the_domain(conn: sqlite3.Connection) -> None:
    fill(conn)
    pairs = set(conn.execute("SELECT priority, priority_rank FROM tickets").fetchall())
    assert {(p, r) for p, r in pairs} == {(p.value, priority_rank(p)) for p in Priority}


def test_open_is_the_active_statuses() -> None:
    inactive = ", ".join(repr(s.value) for s in Status if not s.is_active)
    assert f"status NOT IN ({inactive})" == OPEN


@pytest.mark.parametrize(
    "query",
    [
        TicketQuery(statuses=ACTIVE),
        TicketQuery(statuses=ACTIVE, priorities=[Priority.URGENT, Priority.HIGH]),
        TicketQuery(statuses=ACTIVE, priorities=[Priority.LOW]),
    ],
    ids=["active", "active-high-urgent", "active-low"],
)
def test_the_queue_reads_the_open_index_in_order_and_stops_at_the_limit(
    conn: sqlite3.Connection, query: TicketQuery
) -> None:
    found = plan(conn, *list_sql(query))
    assert "USE TEMP B-TREE FOR ORDER BY" not in found, found
    assert "ix_tickets_open_rank" in found, found


def test_all_tickets_most_urgent_first_reads_the_rank_index(conn: sqlite3.Connection) -> None:
    found = plan(conn, *list_sql(TicketQuery(limit=50)))
    assert "USE TEMP B-TREE FOR ORDER BY" not in found, found
    assert "ix_tickets_rank" in found, found


def test_a_persons_active_tickets_seek_their_index_by_status(conn: sqlite3.Connection) -> None:
    """Not the open queue walked for one person: their index, each active status sought by value."""
    for query in (
        TicketQuery(statuses=ACTIVE, unassigned=True),
        TicketQuery(statuses=ACTIVE, assignee=AGENT),
        TicketQuery(statuses=ACTIVE, customer=ALICE),
    ):
        found = plan(conn, *list_sql(query))
        assert "status=?" in found, found


@pytest.mark.parametrize(
    "f",
    [
        QueueFilter(statuses=ACTIVE),
        QueueFilter(statuses=ACTIVE, priorities=[Priority.HIGH]),
        QueueFilter(statuses=ACTIVE, page=4),
        QueueFilter(),
    ],
    ids=["open", "open-high", "open-page-4", "all"],
)
def test_the_web_queue_most_urgent_first_reads_an_index_in_order(conn: sqlite3.Connection, f: QueueFilter) -> None:
    found = plan(conn, *page_sql(f)[0])
    assert "USE TEMP B-TREE FOR ORDER BY" not in found, found
    assert "ix_tickets_open_rank" in found or "ix_tickets_rank" in found, found


def test_one_status_with_a_priority_seeks_the_pair(conn: sqlite3.Connection) -> None:
    """`/ticket list open high`: the (status, priority) pairs are sought in `ix_tickets_queue`, not every
    high ticket in history walked in rank order."""
    found = plan(conn, *list_sql(TicketQuery(statuses=[Status.OPEN], priorities=[Priority.HIGH])))
    assert "ix_tickets_queue (status=? AND priority=?)" in found, found


def test_the_customer_export_holds_stored_columns_only(conn: sqlite3.Connection) -> None:
    """`priority_rank` is computed by SQLite from `priority`: not something stored about the person."""
    fill(conn)
    data = asyncio.run(SqlitePrivacy(conn).person_data("test", "alice"))
    assert data["tickets"] and all("priority_rank" not in t and "priority" in t for t in data["tickets"])
