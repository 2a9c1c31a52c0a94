"""Incident figures for the digest and `threaddesk report` (key `incidents`).

For a period `[since, until)`: incidents opened in it, the tickets linked to those, the median time to
detect (first linked report → incident opened) over them, and the median time to resolve (incident opened
→ resolved) over incidents resolved in it. Minutes, wall clock.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.store.db import fetch_all, fetch_one, to_db


@dataclass(frozen=True)
class IncidentStats:
    count: int
    linked_tickets: int
    resolved: int
    time_to_detect_minutes: float | None
    time_to_resolve_minutes: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "linked_tickets": self.linked_tickets,
            "median_time_to_detect_minutes": self.time_to_detect_minutes,
            "median_time_to_resolve_minutes": self.time_to_resolve_minutes,
        }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


async def compute(conn: aiosqlite.Connection, since: datetime, until: datetime) -> IncidentStats:
    span = (to_db(since), to_db(until))
    opened = await fetch_all(
        conn,
        "SELECT (julianday(created_at) - julianday(first_report_at)) * 1440.0 FROM incidents"
        " WHERE created_at >= ? AND created_at < ?",
        span,
    )
    linked = await fetch_one(
        conn,
        "SELECT COUNT(*) FROM incident_links l JOIN incidents i ON i.id = l.incident"
        " WHERE i.created_at >= ? AND i.created_at < ? AND l.unlinked_at IS NULL",
        span,
    )
    resolved = await fetch_all(
        conn,
        "SELECT (julianday(resolved_at) - julianday(created_at)) * 1440.0 FROM incidents"
        " WHERE resolved_at >= ? AND resolved_at < ?",
        span,
    )
    return IncidentStats(
        count=len(opened),
        linked_tickets=int(linked[0]) if linked else 0,
        resolved=len(resolved),
        time_to_detect_minutes=_median([max(0.0, float(r[0])) for r in opened if r[0] is not None]),
        time_to_resolve_minutes=_median([float(r[0]) for r in resolved]),
    )


def digest_line(now: IncidentStats) -> str:
    if not now.count and not now.resolved:
        return "Incidents: none"
    detect = "—" if now.time_to_detect_minutes is None else f"{now.time_to_detect_minutes:g}m"
    resolve = "—" if now.time_to_resolve_minutes is None else f"{now.time_to_resolve_minutes:g}m"
    return (
        f"Incidents: {now.count} opened · {now.linked_tickets} linked report(s) · {now.resolved} resolved · "
        f"time to detect {detect} · time to resolve {resolve} (medians)"
    )
