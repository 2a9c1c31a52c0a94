"""The outbox's due query (schema 13): the same heads as the old group-and-sort, read in id order off the
pending rows' index and stopping at the limit; and its read of what was delivered lately (schema 17) off the
delivered rows' index (plans checked without `ANALYZE`, as the bot runs)."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store.sqlite.connection import to_db
from bot.store.sqlite.outbox import DELIVERED_IDS_SQL, due_sql

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def old_due_sql(now: datetime, *, platforms: tuple[str, ...], limit: int) -> tuple[str, list[Any]]:
    """`SqliteOutbox.due` before schema 13, verbatim."""
    marks = ",".join("?" * len(platforms))
    return (
        f"""SELECT o.* FROM outbox o
               JOIN (SELECT MIN(id) AS id FROM outbox WHERE state='pending' AND platform IN ({marks})
                     GROUP BY ordering_key) head
                 ON head.id = o.id
               WHERE o.next_attempt_at <= ? ORDER BY o.id LIMIT ?""",
        [*platforms, to_db(now), limit],
    )


def fill(conn: sqlite3.Connection, rows: int, *, seed: int) -> None:
    """Posts over a few keys per platform — some keys shared by two platforms, so the platform filter is
    part of what makes a head — delivered, failed and pending, with retries due and not yet due."""
    rng = random.Random(seed)
    values = []
    for i in range(rows):
        platform = rng.choice(("slack", "discord", "email"))
        key = rng.choice((f"customer:{platform}:{rng.randrange(8)}", f"shared:{rng.randrange(3)}"))
        state = rng.choice(("pending", "pending", "pending", "delivered", "failed"))
        retry = NOW + timedelta(minutes=rng.randrange(-60, 60))
        values.append((key, platform, state, to_db(retry), to_db(NOW - timedelta(minutes=rows - i))))
    conn.executemany(
        "INSERT INTO outbox (ordering_key, platform, destination, payload, state, next_attempt_at, created_at)"
        " VALUES (?, ?, '{}', '{}', ?, ?, ?)",
        values,
    )


def ids(conn: sqlite3.Connection, sql: str, args: list[Any]) -> list[int]:
    return [int(r["id"]) for r in conn.execute(sql, args).fetchall()]


@pytest.mark.parametrize("seed", range(6))
def test_due_returns_the_same_heads_as_the_old_query(conn: sqlite3.Connection, seed: int) -> None:
    fill(conn, 400, seed=seed)
    compared = 0
    for platforms in (("slack",), ("slack", "discord"), ("discord", "email", "slack"), ("nowhere",)):
        for minutes in (-90, -20, 0, 30, 90):
            for limit in (1, 5, 200):
                now = NOW + timedelta(minutes=minutes)
                expected = ids(conn, *old_due_sql(now, platforms=platforms, limit=limit))
                assert ids(conn, *due_sql(now, platforms=platforms, limit=limit)) == expected
                compared += len(expected)
    assert compared > 100, "the data has due heads to compare"


def test_due_reads_pending_rows_in_id_order_and_stops_at_the_limit(conn: sqlite3.Connection) -> None:
    sql, args = due_sql(NOW, platforms=("slack", "discord"), limit=200)
    found = "\n".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall())
    assert "USE TEMP B-TREE" not in found, found
    assert "USING INDEX ix_outbox_due (state=?)" in found, found
    # an older pending row of the same key is looked up by key, not by scanning the pending rows
    assert "ix_outbox_pending (state=? AND ordering_key=? AND id<?)" in found, found


def test_delivered_ids_reads_the_delivered_rows_of_the_platform_since_the_moment_off_their_index(
    conn: sqlite3.Connection,
) -> None:
    fill(conn, 400, seed=0)
    conn.execute("UPDATE outbox SET delivered_at = created_at, delivered_id = 'p' || id WHERE state = 'delivered'")
    since = NOW - timedelta(minutes=100)
    expected = {
        f"p{r[0]}"
        for r in conn.execute(
            "SELECT id FROM outbox WHERE state = 'delivered' AND platform = 'discord' AND created_at >= ?",
            (to_db(since),),
        )
    }
    assert 0 < len(expected) < 100
    assert {r[0] for r in conn.execute(DELIVERED_IDS_SQL, ("discord", to_db(since)))} == expected
    plan = "\n".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + DELIVERED_IDS_SQL, ("discord", "x")))
    assert "USING INDEX ix_outbox_delivered (platform=? AND delivered_at>?)" in plan, plan
