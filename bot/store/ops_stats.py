"""Read-only queries for /metrics and /readyz: counts the database already keeps, one round trip each."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.store.db import fetch_all, fetch_one, from_db
from bot.telemetry import DeskStats

Conn = aiosqlite.Connection


async def read_stats(conn: Conn, now: datetime) -> DeskStats:
    stats = DeskStats()
    for r in await fetch_all(
        conn, "SELECT customer_platform, priority, COUNT(*) FROM tickets GROUP BY customer_platform, priority"
    ):
        stats.opened[(r[0], r[1])] = int(r[2])
    for r in await fetch_all(
        conn,
        "SELECT t.customer_platform, t.priority, COUNT(*) FROM ticket_events e JOIN tickets t ON t.number = e.ticket"
        " WHERE e.kind = 'resolved' GROUP BY t.customer_platform, t.priority",
    ):
        stats.resolved[(r[0], r[1])] = int(r[2])
    for r in await fetch_all(
        conn, "SELECT status, COUNT(*) FROM tickets WHERE status NOT IN ('resolved', 'closed') GROUP BY status"
    ):
        stats.open_now[r[0]] = int(r[1])
    for r in await fetch_all(conn, "SELECT level, target, COUNT(*) FROM sla_alerts GROUP BY level, target"):
        stats.sla_alerts[(r[0], r[1])] = int(r[2])
    for r in await fetch_all(conn, "SELECT kind, COUNT(*) FROM kb_feedback GROUP BY kind"):
        stats.kb_feedback[r[0]] = int(r[1])
    for r in await fetch_all(
        conn,
        "SELECT platform, COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending' GROUP BY platform",
    ):
        stats.outbox_depth[r[0]] = int(r[1])
        stats.outbox_oldest_seconds[r[0]] = max(0.0, (now - from_db(r[2])).total_seconds())
    for r in await fetch_all(conn, "SELECT platform, COUNT(*) FROM outbox WHERE state = 'failed' GROUP BY platform"):
        stats.outbox_failed[r[0]] = int(r[1])
    return stats


async def oldest_pending(conn: Conn, platforms: tuple[str, ...]) -> datetime | None:
    """When the oldest post still waiting for one of `platforms` was written."""
    if not platforms:
        return None
    marks = ",".join("?" * len(platforms))
    row = await fetch_one(
        conn, f"SELECT MIN(created_at) FROM outbox WHERE state = 'pending' AND platform IN ({marks})", platforms
    )
    return from_db(row[0]) if row and row[0] else None


async def schema_version(conn: Conn) -> int:
    row = await fetch_one(conn, "PRAGMA user_version")
    return int(row[0]) if row else 0


async def pending_count(conn: Conn) -> int:
    row = await fetch_one(conn, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
    return int(row[0]) if row else 0
