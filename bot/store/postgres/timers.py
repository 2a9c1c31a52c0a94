"""Ticket timers and scheduled jobs on PostgreSQL. Every process reads what is due; the unit that fires a
timer first re-reads it locked (`still_armed` … `FOR UPDATE SKIP LOCKED`), so a timer another process is
firing right now, or has fired, is skipped — each fires once. A job moves to its next moment only if it is
still at the moment that was read (`job_done`), so each digest is posted once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from bot.records import Job, Timer


def _job(r: asyncpg.Record) -> Job:
    return Job(r["name"], r["kind"], r["spec"], r["due_at"], r["last_run_at"])


class PgTimers:
    """Implements `bot.repositories.TimersRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing

    async def apply(
        self, ticket: int, arm: list[tuple[str, datetime]], keep: list[tuple[str, datetime]], clear: list[str]
    ) -> None:
        if arm:
            await self.conn.executemany(
                "INSERT INTO timers (ticket, kind, due_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (ticket, kind) DO UPDATE SET due_at=excluded.due_at"
                " WHERE timers.due_at <> excluded.due_at",
                [(ticket, kind, due) for kind, due in arm],
            )
        if keep:
            await self.conn.executemany(
                "INSERT INTO timers (ticket, kind, due_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                [(ticket, kind, due) for kind, due in keep],
            )
        await self.clear_timers(ticket, tuple(clear))

    async def clear_timers(self, ticket: int, kinds: tuple[str, ...]) -> None:
        if kinds:
            await self.conn.execute(
                "DELETE FROM timers WHERE ticket=$1 AND kind = ANY($2::text[])", ticket, list(kinds)
            )

    async def reschedule(self, timer: Timer, due_at: datetime) -> None:
        await self.conn.execute(
            "UPDATE timers SET due_at=$1, attempt=attempt+1 WHERE ticket=$2 AND kind=$3",
            due_at,
            timer.ticket,
            timer.kind,
        )

    async def due_timers(self, now: datetime, limit: int = 500) -> list[Timer]:
        rows = await self.conn.fetch(
            "SELECT ticket, kind, due_at, attempt FROM timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2", now, limit
        )
        return [Timer(r[0], r[1], r[2], r[3]) for r in rows]

    async def next_due(self) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT least((SELECT min(due_at) FROM timers), (SELECT min(due_at) FROM jobs))"
        )
        return value

    async def ensure_job(self, name: str, kind: str, spec: dict[str, Any], first_due: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO jobs (name, kind, spec, due_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (name) DO UPDATE SET spec=excluded.spec",
            name,
            kind,
            spec,
            first_due,
        )

    async def drop_jobs_except(self, kind: str, keep: set[str]) -> None:
        await self.conn.execute("DELETE FROM jobs WHERE kind=$1 AND NOT (name = ANY($2::text[]))", kind, list(keep))

    async def due_jobs(self, now: datetime) -> list[Job]:
        rows = await self.conn.fetch("SELECT * FROM jobs WHERE due_at <= $1 ORDER BY due_at", now)
        return [_job(r) for r in rows]

    async def job_done(self, job: Job, ran_at: datetime, next_due: datetime) -> bool:
        """Move a job that ran to its next moment. False when another process already moved it."""
        done = await self.conn.fetchval(
            "UPDATE jobs SET last_run_at=$1, due_at=$2 WHERE name=$3 AND due_at=$4 RETURNING true",
            ran_at,
            next_due,
            job.name,
            job.due_at,
        )
        return bool(done)

    async def last_digest_run(self, platform: str, channel: str) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT max(last_run_at) FROM jobs WHERE kind='digest' AND spec->>'platform' = $1"
            " AND spec->>'channel' = $2",
            platform,
            channel,
        )
        return value

    async def still_armed(self, timer: Timer) -> bool:
        """The timer is still set as it was read, and no other unit is firing it now (it is locked for this
        unit until it commits)."""
        lock = " FOR UPDATE SKIP LOCKED" if self.writing else ""
        row = await self.conn.fetchrow(
            f"SELECT 1 FROM timers WHERE ticket=$1 AND kind=$2 AND due_at=$3{lock}",
            timer.ticket,
            timer.kind,
            timer.due_at,
        )
        return row is not None
