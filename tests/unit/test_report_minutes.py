"""The PostgreSQL report computes durations as SQLite's `(julianday(end) - julianday(start)) * 1440.0` does,
bit for bit, so a duration such as 45 s (0.7499999… there, not 0.75) rounds to the same tenth on both engines."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

from bot.store.postgres.reports import minutes
from bot.store.sqlite.connection import to_db


def test_minutes_are_sqlites_julianday_difference() -> None:
    conn = sqlite3.connect(":memory:")
    rnd = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(5000):
        start = base + timedelta(
            seconds=rnd.randint(0, 10**8), microseconds=rnd.choice([0, 500, rnd.randint(0, 999_999)])
        )
        end = start + timedelta(seconds=rnd.choice([45, 135, 3 * rnd.randint(0, 2000), rnd.randint(0, 10**6)]))
        end += timedelta(microseconds=rnd.choice([0, 999_500, rnd.randint(0, 999_999)]))
        (want,) = conn.execute("SELECT (julianday(?) - julianday(?)) * 1440.0", (to_db(end), to_db(start))).fetchone()
        assert minutes(end, start) == want, (to_db(start), to_db(end))


def test_a_half_rounds_as_in_sqlite() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert round(minutes(start + timedelta(seconds=45), start), 1) == 0.7
    assert round(45 / 60, 1) == 0.8  # what an exact duration would give
