"""Read-only queries for /metrics and /readyz: counts the database already keeps, one round trip each."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.telemetry import DeskStats


class PgOpsStats:
    """Implements `bot.repositories.OpsStatsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def last_event_id(self) -> int:
        value = await self.conn.fetchval("SELECT MAX(id) FROM ticket_events")
        return int(value) if value is not None else 0

    async def count_openings(self, stats: DeskStats, after_id: int, upto_id: int) -> None:
        """Add the tickets opened (priority when opened) and resolved (current priority) among the history events
        with ids in (after_id, upto_id] to `stats` — a range scan on the primary key, so a scrape only reads the
        events since the previous one."""
        for r in await self.conn.fetch(
            "SELECT e.kind, t.customer_platform, COALESCE(e.detail ->> 'priority', t.priority), COUNT(*)"
            " FROM ticket_events e JOIN tickets t ON t.number = e.ticket"
            " WHERE e.id > $1 AND e.id <= $2 AND e.kind IN ('opened', 'resolved') GROUP BY 1, 2, 3",
            after_id,
            upto_id,
        ):
            into = stats.opened if r[0] == "opened" else stats.resolved
            into[(r[1], r[2])] = into.get((r[1], r[2]), 0) + int(r[3])

    async def read_stats(self, now: datetime) -> DeskStats:
        """The cheap part of a scrape: gauges and small tables (openings and resolutions: `count_openings`)."""
        stats = DeskStats()
        for r in await self.conn.fetch(
            "SELECT status, COUNT(*) FROM tickets WHERE status IN ('new', 'open', 'pending', 'on_hold') GROUP BY status"
        ):
            stats.open_now[r[0]] = int(r[1])
        for r in await self.conn.fetch("SELECT level, target, COUNT(*) FROM sla_alerts GROUP BY level, target"):
            stats.sla_alerts[(r[0], r[1])] = int(r[2])
        for r in await self.conn.fetch("SELECT kind, COUNT(*) FROM kb_feedback GROUP BY kind"):
            stats.kb_feedback[r[0]] = int(r[1])
        for r in await self.conn.fetch(
            "SELECT platform, COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending' GROUP BY platform"
        ):
            stats.outbox_depth[r[0]] = int(r[1])
            stats.outbox_oldest_seconds[r[0]] = max(0.0, (now - r[2]).total_seconds())
        for r in await self.conn.fetch(
            "SELECT platform, COUNT(*) FROM outbox WHERE state = 'failed' GROUP BY platform"
        ):
            stats.outbox_failed[r[0]] = int(r[1])
        return stats

    async def oldest_pending(self, platforms: tuple[str, ...]) -> datetime | None:
        """When the oldest post still waiting for one of `platforms` was written."""
        if not platforms:
            return None
        value: datetime | None = await self.conn.fetchval(
            "SELECT MIN(created_at) FROM outbox WHERE state = 'pending' AND platform = ANY($1::text[])",
            list(platforms),
        )
        return value

    async def schema_version(self) -> int:
        """The engine's `schema_version` table (the migrations write it; PostgreSQL has no `user_version`)."""
        value = await self.conn.fetchval("SELECT MAX(version) FROM schema_version")
        return int(value) if value is not None else 0

    async def pending_count(self) -> int:
        value = await self.conn.fetchval("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
        return int(value)
