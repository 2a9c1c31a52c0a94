"""Each ticket's SLA clock (due moments, resolution time used) and the alerts fired, once each."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from bot.domain.sla import Due, Level, ResolutionClock, Target
from bot.records import StoredClock
from bot.store.postgres.tickets import locking


def _stored(
    used_seconds: float, running_since: datetime | None, first: datetime | None, resolution: datetime | None
) -> StoredClock:
    return StoredClock(ResolutionClock(timedelta(seconds=used_seconds), running_since), first, resolution)


class PgSla:
    """Implements `bot.repositories.SlaRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def get_clock(self, ticket: int) -> StoredClock | None:
        row = await self.conn.fetchrow("SELECT * FROM sla_clocks WHERE ticket=$1" + locking(self.writing), ticket)
        if row is None:
            return None
        return _stored(row["used_seconds"], row["running_since"], row["first_response_due"], row["resolution_due"])

    async def save_clock(self, ticket: int, clock: ResolutionClock, due: Due) -> None:
        await self.conn.execute(
            "INSERT INTO sla_clocks (ticket, used_seconds, running_since, first_response_due, resolution_due)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket) DO UPDATE SET used_seconds=excluded.used_seconds,"
            " running_since=excluded.running_since, first_response_due=excluded.first_response_due,"
            " resolution_due=excluded.resolution_due",
            ticket,
            clock.used.total_seconds(),
            clock.running_since,
            due.first_response,
            due.resolution,
        )

    async def load(self, ticket: int) -> tuple[StoredClock | None, set[tuple[str, str]]]:
        """The clock and the alerts already fired, in one round trip (this runs on every ticket change)."""
        row = await self.conn.fetchrow(
            "SELECT s.used_seconds, s.running_since, s.first_response_due, s.resolution_due,"
            " ARRAY(SELECT ARRAY[a.target, a.level] FROM sla_alerts a WHERE a.ticket = x.t) AS fired"
            " FROM (SELECT $1::bigint AS t) x"
            f" LEFT JOIN (SELECT * FROM sla_clocks WHERE ticket = $1{locking(self.writing)}) s ON true",
            ticket,
        )
        assert row is not None
        stored = None
        if row["used_seconds"] is not None:
            stored = _stored(
                row["used_seconds"], row["running_since"], row["first_response_due"], row["resolution_due"]
            )
        return stored, {(target, level) for target, level in row["fired"]}

    async def record_alert(
        self, ticket: int, target: Target, level: Level, due_at: datetime, fired_at: datetime, late: bool
    ) -> bool:
        """True the first time; False when this alert already fired (so it is never posted twice)."""
        fired = await self.conn.fetchval(
            "INSERT INTO sla_alerts (ticket, target, level, due_at, fired_at, late) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT DO NOTHING RETURNING ticket",
            ticket,
            target.value,
            level.value,
            due_at,
            fired_at,
            late,
        )
        return fired is not None
