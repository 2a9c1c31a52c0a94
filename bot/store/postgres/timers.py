"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from bot.records import (
    Job,
    Timer,
)


class PgTimers:
    """Implements `bot.repositories.TimersRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def apply(
        self, ticket: int, arm: list[tuple[str, datetime]], keep: list[tuple[str, datetime]], clear: list[str]
    ) -> None:
        raise NotImplementedError  # SKELETON

    async def clear_timers(self, ticket: int, kinds: tuple[str, ...]) -> None:
        raise NotImplementedError  # SKELETON

    async def reschedule(self, timer: Timer, due_at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def due_timers(self, now: datetime, limit: int = 500) -> list[Timer]:
        raise NotImplementedError  # SKELETON

    async def next_due(self) -> datetime | None:
        raise NotImplementedError  # SKELETON

    async def ensure_job(self, name: str, kind: str, spec: dict[str, Any], first_due: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def drop_jobs_except(self, kind: str, keep: set[str]) -> None:
        raise NotImplementedError  # SKELETON

    async def due_jobs(self, now: datetime) -> list[Job]:
        raise NotImplementedError  # SKELETON

    async def job_done(self, job: Job, ran_at: datetime, next_due: datetime) -> bool:
        raise NotImplementedError  # SKELETON

    async def last_digest_run(self, platform: str, channel: str) -> datetime | None:
        raise NotImplementedError  # SKELETON

    async def still_armed(self, timer: Timer) -> bool:
        raise NotImplementedError  # SKELETON
