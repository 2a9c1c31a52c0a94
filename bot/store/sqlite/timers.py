"""Timers that belong to a ticket (SLA thresholds, auto-close, pending reminders) and scheduled jobs
(digests). Both live in the database, so a restart neither loses nor repeats them: a timer is deleted or
moved in the same transaction as the work it did."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from bot.records import Job, Timer
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, opt_from_db, to_db

#: Digest job names: `digest:<platform>:<channel>:<cron>`.


# --- scheduled jobs ----------------------------------------------------------------------------------------


def _job(r: sqlite3.Row) -> Job:
    return Job(r["name"], r["kind"], json.loads(r["spec"]), from_db(r["due_at"]), opt_from_db(r["last_run_at"]))


class SqliteTimers:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def apply(
        self, ticket: int, arm: list[tuple[str, datetime]], keep: list[tuple[str, datetime]], clear: list[str]
    ) -> None:
        """Arm (or move) `arm`, arm `keep` unless already armed, and clear `clear` — few round trips."""
        if arm:
            self.conn.executemany(
                "INSERT INTO timers (ticket, kind, due_at) VALUES (?, ?, ?)"
                " ON CONFLICT (ticket, kind) DO UPDATE SET due_at=excluded.due_at WHERE due_at != excluded.due_at",
                [(ticket, kind, to_db(due)) for kind, due in arm],
            )
        if keep:
            self.conn.executemany(
                "INSERT OR IGNORE INTO timers (ticket, kind, due_at) VALUES (?, ?, ?)",
                [(ticket, kind, to_db(due)) for kind, due in keep],
            )
        await self.clear_timers(ticket, tuple(clear))

    async def clear_timers(self, ticket: int, kinds: tuple[str, ...]) -> None:
        if kinds:
            self.conn.execute(
                f"DELETE FROM timers WHERE ticket=? AND kind IN ({','.join('?' * len(kinds))})", (ticket, *kinds)
            )

    async def reschedule(self, timer: Timer, due_at: datetime) -> None:
        self.conn.execute(
            "UPDATE timers SET due_at=?, attempt=attempt+1 WHERE ticket=? AND kind=?",
            (to_db(due_at), timer.ticket, timer.kind),
        )

    async def due_timers(self, now: datetime, limit: int = 500) -> list[Timer]:
        rows = fetch_all(
            self.conn,
            "SELECT ticket, kind, due_at, attempt FROM timers WHERE due_at <= ? ORDER BY due_at LIMIT ?",
            (to_db(now), limit),
        )
        return [Timer(r[0], r[1], from_db(r[2]), r[3]) for r in rows]

    async def next_due(self) -> datetime | None:
        row = fetch_one(
            self.conn, "SELECT MIN(m) FROM (SELECT MIN(due_at) AS m FROM timers UNION ALL SELECT MIN(due_at) FROM jobs)"
        )
        return from_db(row[0]) if row and row[0] else None

    async def ensure_job(self, name: str, kind: str, spec: dict[str, Any], first_due: datetime) -> None:
        """Create the job if it is new; an existing job keeps its due moment (that is what survives restarts)."""
        self.conn.execute(
            "INSERT INTO jobs (name, kind, spec, due_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET spec=excluded.spec",
            (name, kind, json.dumps(spec, sort_keys=True), to_db(first_due)),
        )

    async def drop_jobs_except(self, kind: str, keep: set[str]) -> None:
        rows = fetch_all(self.conn, "SELECT name FROM jobs WHERE kind=?", (kind,))
        for (name,) in rows:
            if name not in keep:
                self.conn.execute("DELETE FROM jobs WHERE name=?", (name,))

    async def due_jobs(self, now: datetime) -> list[Job]:
        rows = fetch_all(self.conn, "SELECT * FROM jobs WHERE due_at <= ? ORDER BY due_at", (to_db(now),))
        return [_job(r) for r in rows]

    async def job_done(self, job: Job, ran_at: datetime, next_due: datetime) -> bool:
        """Move a job that ran to its next moment. False when someone else already moved it (never run twice)."""
        cur = self.conn.execute(
            "UPDATE jobs SET last_run_at=?, due_at=? WHERE name=? AND due_at=?",
            (to_db(ran_at), to_db(next_due), job.name, to_db(job.due_at)),
        )
        return cur.rowcount == 1

    async def last_digest_run(self, platform: str, channel: str) -> datetime | None:
        """When a scheduled digest for this channel last ran (any of its schedules)."""
        row = fetch_one(
            self.conn,
            "SELECT MAX(last_run_at) FROM jobs WHERE kind='digest' AND json_extract(spec, '$.platform')=?"
            " AND json_extract(spec, '$.channel')=?",
            (platform, channel),
        )
        return from_db(row[0]) if row and row[0] else None

    async def still_armed(self, timer: Timer) -> bool:
        """The timer is still set as it was read (not moved or cleared since)."""
        row = fetch_one(
            self.conn,
            "SELECT 1 FROM timers WHERE ticket=? AND kind=? AND due_at=?",
            (timer.ticket, timer.kind, to_db(timer.due_at)),
        )
        return row is not None
