"""Every team-lead metric, computed in one place (digest, `/ticket stats`, `threaddesk report`).

The definitions are written once in README.md ("Team leads → Metric definitions"); this module is the
only code that implements them. A period is `[since, until)`; durations are wall-clock minutes.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bot.domain.ticket import Priority, Status
from bot.services import incident_metrics
from bot.services.incident_metrics import IncidentStats
from bot.store import macros as macro_store
from bot.store.db import fetch_all, fetch_one, from_db, to_db

ACTIVE = tuple(s.value for s in Status if s.is_active)
#: Deflection: the customer accepted a suggested article (`/kb accept`), which tags the ticket `self-served`.
_SELF_SERVED = "EXISTS (SELECT 1 FROM json_each(tags) WHERE value = 'self-served')"
#: A resolution by an agent (`resolved`) or by the customer with an article (`self_served`); per-agent
#: figures count only the agents' own.
_RESOLVED_KINDS = "kind IN ('resolved', 'self_served')"
_ACTIVE_IN = f"status IN ({','.join(repr(s) for s in ACTIVE)})"
_OPEN_NOT_IN = "status NOT IN ('resolved', 'closed')"
_MINUTES = "(julianday({end}) - julianday({start})) * 1440.0"


@dataclass(frozen=True)
class Spread:
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(None, None)
        ordered = sorted(values)
        return cls(round(statistics.median(ordered), 1), round(percentile(ordered, 0.9), 1))


def percentile(ordered: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values: the smallest value with at least `share` of them ≤ it."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Csat:
    average: float | None
    responses: int
    requests: int


@dataclass(frozen=True)
class AgentStats:
    assigned_open: int
    resolved: int
    first_response_minutes_median: float | None


@dataclass(frozen=True)
class Waiting:
    number: int
    subject: str
    priority: str
    created_at: datetime


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    created: int
    resolved: int
    closed: int
    reopened: int
    open_by_status: dict[str, int]
    open_by_priority: dict[str, int]
    unassigned: int
    first_response_minutes: Spread
    resolution_minutes: Spread
    reopen_rate: float | None
    sla_breached: int
    csat: Csat
    deflected: int
    per_agent: dict[str, AgentStats]
    # digest extras, not part of the JSON report's contract
    at_risk: int = 0
    breached_open: int = 0
    oldest_waiting: tuple[Waiting, ...] = ()
    resolved_by_priority: dict[str, int] = field(default_factory=dict)
    #: macro name → times applied in the period, most used first
    macros: dict[str, int] = field(default_factory=dict)
    incidents: IncidentStats | None = None

    @property
    def open_total(self) -> int:
        return sum(self.open_by_status.values())

    def to_json(self) -> dict[str, Any]:
        """The report's stable JSON shape: other tools read these keys."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "created": self.created,
            "resolved": self.resolved,
            "closed": self.closed,
            "reopened": self.reopened,
            "open_by_status": self.open_by_status,
            "open_by_priority": self.open_by_priority,
            "unassigned": self.unassigned,
            "first_response_minutes": _spread(self.first_response_minutes),
            "resolution_minutes": _spread(self.resolution_minutes),
            "reopen_rate": self.reopen_rate,
            "sla_breached": self.sla_breached,
            "csat": {"average": self.csat.average, "responses": self.csat.responses, "requests": self.csat.requests},
            "deflected": self.deflected,
            "per_agent": {
                name: {
                    "assigned_open": a.assigned_open,
                    "resolved": a.resolved,
                    "first_response_minutes_median": a.first_response_minutes_median,
                }
                for name, a in sorted(self.per_agent.items())
            },
            "macros": self.macros,
            "incidents": (self.incidents or IncidentStats(0, 0, 0, None, None)).to_json(),
        }


def _spread(s: Spread) -> dict[str, float | None]:
    return {"median": s.median, "p90": s.p90}


async def _count(conn: aiosqlite.Connection, sql: str, args: Sequence[Any]) -> int:
    row = await fetch_one(conn, sql, args)
    return int(row[0] or 0) if row else 0


async def _reopen_rate(conn: aiosqlite.Connection, span: tuple[str, str]) -> float | None:
    """The share (0–1) of the tickets resolved in the period that were reopened after that resolution,
    within the period. A share of tickets, so it never passes 100 % (reopens ÷ resolutions could)."""
    row = await fetch_one(
        conn,
        "SELECT COUNT(*), SUM(EXISTS (SELECT 1 FROM ticket_events o WHERE o.ticket = r.ticket"
        " AND o.kind = 'reopened' AND o.at >= r.first_at AND o.at < ?))"
        f" FROM (SELECT ticket, MIN(at) AS first_at FROM ticket_events WHERE {_RESOLVED_KINDS}"
        " AND at >= ? AND at < ? GROUP BY ticket) r",
        (span[1], *span),
    )
    if not row or not row[0]:
        return None
    return round(int(row[1] or 0) / int(row[0]), 3)


async def compute(conn: aiosqlite.Connection, since: datetime, until: datetime, *, oldest: int = 5) -> Report:
    """All metrics for `[since, until)`; open-queue figures are as of now (the moment of the query)."""
    span = (to_db(since), to_db(until))
    created = await _count(conn, "SELECT COUNT(*) FROM tickets WHERE created_at >= ? AND created_at < ?", span)
    resolved = await _count(
        conn, f"SELECT COUNT(*) FROM ticket_events WHERE {_RESOLVED_KINDS} AND at >= ? AND at < ?", span
    )
    closed = await _count(
        conn,
        "SELECT COUNT(*) FROM ticket_events WHERE kind='status_changed' AND at >= ? AND at < ?"
        " AND json_extract(detail, '$.after')='closed'",
        span,
    )
    reopened = await _count(
        conn, "SELECT COUNT(*) FROM ticket_events WHERE kind='reopened' AND at >= ? AND at < ?", span
    )
    reopen_rate = await _reopen_rate(conn, span)
    by_status: dict[str, int] = {s: 0 for s in ACTIVE}
    by_priority: dict[str, int] = {p.value: 0 for p in reversed(Priority)}
    for status, priority, n in await fetch_all(
        conn, f"SELECT status, priority, COUNT(*) FROM tickets WHERE {_ACTIVE_IN} GROUP BY status, priority"
    ):
        by_status[status] = by_status.get(status, 0) + n
        by_priority[priority] = by_priority.get(priority, 0) + n
    unassigned = await _count(conn, f"SELECT COUNT(*) FROM tickets WHERE {_ACTIVE_IN} AND assignee_id IS NULL", ())

    first = await fetch_all(
        conn,
        f"SELECT {_MINUTES.format(end='first_response_at', start='created_at')}, assignee_name FROM tickets"
        " WHERE created_at >= ? AND created_at < ? AND first_response_at IS NOT NULL",
        span,
    )
    resolution = await fetch_all(
        conn,
        f"SELECT {_MINUTES.format(end='resolved_at', start='created_at')}, {_SELF_SERVED}, priority"
        " FROM tickets WHERE resolved_at >= ? AND resolved_at < ?",
        span,
    )
    deflected = sum(1 for r in resolution if r[1])
    resolved_by_priority: dict[str, int] = defaultdict(int)
    for r in resolution:
        resolved_by_priority[r[2]] += 1

    breached = await _count(
        conn,
        "SELECT COUNT(DISTINCT ticket) FROM sla_alerts WHERE level='breach' AND due_at >= ? AND due_at < ?",
        span,
    )
    at_risk = await _count(
        conn,
        f"SELECT COUNT(DISTINCT w.ticket) FROM sla_alerts w JOIN tickets t ON t.number = w.ticket"
        f" WHERE w.level='warning' AND t.{_ACTIVE_IN} AND NOT EXISTS (SELECT 1 FROM sla_alerts b"
        " WHERE b.ticket = w.ticket AND b.target = w.target AND b.level='breach')",
        (),
    )
    breached_open = await _count(
        conn,
        f"SELECT COUNT(DISTINCT b.ticket) FROM sla_alerts b JOIN tickets t ON t.number = b.ticket"
        f" WHERE b.level='breach' AND t.{_ACTIVE_IN}",
        (),
    )
    requests = await _count(conn, "SELECT COUNT(*) FROM csat WHERE asked_at >= ? AND asked_at < ?", span)
    rated = await fetch_one(
        conn, "SELECT COUNT(*), AVG(rating) FROM csat WHERE rated_at >= ? AND rated_at < ? AND rating IS NOT NULL", span
    )
    responses = int(rated[0]) if rated else 0
    average = round(float(rated[1]), 2) if rated and rated[1] is not None else None

    per_agent = await _per_agent(conn, span, first)
    waiting = await fetch_all(
        conn,
        # the same condition as the partial index ix_tickets_waiting, so SQLite can use it
        "SELECT number, subject, priority, created_at FROM tickets"
        f" WHERE {_OPEN_NOT_IN} AND first_response_at IS NULL ORDER BY created_at, number LIMIT ?",
        (oldest,),
    )
    return Report(
        since=since,
        until=until,
        created=created,
        resolved=resolved,
        closed=closed,
        reopened=reopened,
        open_by_status=by_status,
        open_by_priority=by_priority,
        unassigned=unassigned,
        first_response_minutes=Spread.of([r[0] for r in first]),
        resolution_minutes=Spread.of([r[0] for r in resolution]),
        reopen_rate=reopen_rate,
        sla_breached=breached,
        csat=Csat(average, responses, requests),
        deflected=deflected,
        per_agent=per_agent,
        at_risk=at_risk,
        breached_open=breached_open,
        oldest_waiting=tuple(Waiting(r[0], r[1], r[2], from_db(r[3])) for r in waiting),
        resolved_by_priority=dict(resolved_by_priority),
        macros=await macro_store.usage(conn, since, until),
        incidents=await incident_metrics.compute(conn, since, until),
    )


async def _per_agent(
    conn: aiosqlite.Connection, span: tuple[str, str], first: Sequence[aiosqlite.Row]
) -> dict[str, AgentStats]:
    assigned: dict[str, int] = defaultdict(int)
    for name, n in await fetch_all(
        conn,
        # the same condition as the partial index ix_tickets_open_load (covering)
        f"SELECT assignee_name, COUNT(*) FROM tickets WHERE assignee_id IS NOT NULL AND {_OPEN_NOT_IN}"
        " GROUP BY assignee_name",
    ):
        assigned[name] += n
    resolved: dict[str, int] = defaultdict(int)
    for name, n in await fetch_all(
        conn,
        "SELECT actor_name, COUNT(*) FROM ticket_events WHERE kind='resolved' AND at >= ? AND at < ?"
        " GROUP BY actor_name",
        span,
    ):
        resolved[name] += n
    minutes: dict[str, list[float]] = defaultdict(list)
    for value, name in first:
        if name:
            minutes[name].append(value)
    names = set(assigned) | set(resolved) | set(minutes)
    return {
        name: AgentStats(assigned[name], resolved[name], Spread.of(minutes.get(name, [])).median)
        for name in sorted(names)
    }


@dataclass(frozen=True)
class Daily:
    days: tuple[str, ...]
    created: tuple[int, ...]
    resolved: tuple[int, ...]


async def per_day(conn: aiosqlite.Connection, until: datetime, days: int = 14) -> Daily:
    """Created vs resolved per UTC day over the last `days` days up to `until` (for the chart)."""
    start = (until - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    labels = tuple(f"{start + timedelta(days=i):%Y-%m-%d}" for i in range(days))
    span = (to_db(start), to_db(until))
    made: dict[str, int] = dict(
        (r[0], r[1])
        for r in await fetch_all(
            conn,
            "SELECT substr(created_at, 1, 10), COUNT(*) FROM tickets WHERE created_at >= ? AND created_at < ?"
            " GROUP BY 1",
            span,
        )
    )
    done: dict[str, int] = dict(
        (r[0], r[1])
        for r in await fetch_all(
            conn,
            f"SELECT substr(at, 1, 10), COUNT(*) FROM ticket_events WHERE {_RESOLVED_KINDS} AND at >= ? AND at < ?"
            " GROUP BY 1",
            span,
        )
    )
    return Daily(labels, tuple(int(made.get(d, 0)) for d in labels), tuple(int(done.get(d, 0)) for d in labels))
