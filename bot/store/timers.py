"""Timers that belong to a ticket (SLA thresholds, auto-close, pending reminders) and scheduled jobs
(digests). Both live in the database, so a restart neither loses nor repeats them: a timer is deleted or
moved in the same transaction as the work it did."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.store.db import fetch_all, fetch_one, from_db, opt_from_db, to_db

Conn = aiosqlite.Connection

#: Digest job names: `digest:<platform>:<channel>:<cron>`.
DIGEST_PREFIX = "digest:"


@dataclass(frozen=True)
class Timer:
    ticket: int
    kind: str
    due_at: datetime
    attempt: int


async def apply(
    conn: Conn, ticket: int, arm: list[tuple[str, datetime]], keep: list[tuple[str, datetime]], clear: list[str]
) -> None:
    """Arm (or move) `arm`, arm `keep` unless already armed, and clear `clear` — few round trips."""
    if arm:
        await conn.executemany(
            "INSERT INTO timers (ticket, kind, due_at) VALUES (?, ?, ?)"
            " ON CONFLICT (ticket, kind) DO UPDATE SET due_at=excluded.due_at WHERE due_at != excluded.due_at",
            [(ticket, kind, to_db(due)) for kind, due in arm],
        )
    if keep:
        await conn.executemany(
            "INSERT OR IGNORE INTO timers (ticket, kind, due_at) VALUES (?, ?, ?)",
            [(ticket, kind, to_db(due)) for kind, due in keep],
        )
    await clear_timers(conn, ticket, tuple(clear))


async def clear_timers(conn: Conn, ticket: int, kinds: tuple[str, ...]) -> None:
    if kinds:
        await conn.execute(
            f"DELETE FROM timers WHERE ticket=? AND kind IN ({','.join('?' * len(kinds))})", (ticket, *kinds)
        )


async def reschedule(conn: Conn, timer: Timer, due_at: datetime) -> None:
    await conn.execute(
        "UPDATE timers SET due_at=?, attempt=attempt+1 WHERE ticket=? AND kind=?",
        (to_db(due_at), timer.ticket, timer.kind),
    )


async def due_timers(conn: Conn, now: datetime, limit: int = 500) -> list[Timer]:
    rows = await fetch_all(
        conn,
        "SELECT ticket, kind, due_at, attempt FROM timers WHERE due_at <= ? ORDER BY due_at LIMIT ?",
        (to_db(now), limit),
    )
    return [Timer(r[0], r[1], from_db(r[2]), r[3]) for r in rows]


async def next_due(conn: Conn) -> datetime | None:
    row = await fetch_one(
        conn, "SELECT MIN(m) FROM (SELECT MIN(due_at) AS m FROM timers UNION ALL SELECT MIN(due_at) FROM jobs)"
    )
    return from_db(row[0]) if row and row[0] else None


# --- scheduled jobs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    name: str
    kind: str
    spec: dict[str, Any]
    due_at: datetime
    last_run_at: datetime | None


def _job(r: aiosqlite.Row) -> Job:
    return Job(r["name"], r["kind"], json.loads(r["spec"]), from_db(r["due_at"]), opt_from_db(r["last_run_at"]))


async def ensure_job(conn: Conn, name: str, kind: str, spec: dict[str, Any], first_due: datetime) -> None:
    """Create the job if it is new; an existing job keeps its due moment (that is what survives restarts)."""
    await conn.execute(
        "INSERT INTO jobs (name, kind, spec, due_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET spec=excluded.spec",
        (name, kind, json.dumps(spec, sort_keys=True), to_db(first_due)),
    )


async def drop_jobs_except(conn: Conn, kind: str, keep: set[str]) -> None:
    rows = await fetch_all(conn, "SELECT name FROM jobs WHERE kind=?", (kind,))
    for (name,) in rows:
        if name not in keep:
            await conn.execute("DELETE FROM jobs WHERE name=?", (name,))


async def due_jobs(conn: Conn, now: datetime) -> list[Job]:
    rows = await fetch_all(conn, "SELECT * FROM jobs WHERE due_at <= ? ORDER BY due_at", (to_db(now),))
    return [_job(r) for r in rows]


async def job_done(conn: Conn, job: Job, ran_at: datetime, next_due: datetime) -> bool:
    """Move a job that ran to its next moment. False when someone else already moved it (never run twice)."""
    cur = await conn.execute(
        "UPDATE jobs SET last_run_at=?, due_at=? WHERE name=? AND due_at=?",
        (to_db(ran_at), to_db(next_due), job.name, to_db(job.due_at)),
    )
    return cur.rowcount == 1
