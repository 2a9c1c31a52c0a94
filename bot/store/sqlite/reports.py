"""The team-lead report's SQL: every metric of README.md "Team leads → Metric definitions", written once.

A period is `[since, until)`; durations are wall-clock minutes. `team` scopes every figure to one team's
tickets through TEMP views named like the tables they shadow (SQLite resolves `temp` before `main`), so the
same sixteen queries serve the whole desk and each team — no second copy to drift apart. The views live only
while one report is computed, which runs without yielding to the event loop, so no other read sees them.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from bot.domain.ticket import Priority, Status
from bot.records import AgentStats, Csat, Daily, IncidentStats, Report, Spread, Waiting
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, to_db
from bot.store.sqlite.macros import SqliteMacros
from bot.store.sqlite.tickets import OPEN

ACTIVE = tuple(s.value for s in Status if s.is_active)
#: Deflection: the customer accepted a suggested article (`/kb accept`), which tags the ticket `self-served`.
_SELF_SERVED = "EXISTS (SELECT 1 FROM json_each(tags) WHERE value = 'self-served')"
#: A resolution by an agent (`resolved`) or by the customer with an article (`self_served`); per-agent
#: figures count only the agents' own.
_RESOLVED_KINDS = "kind IN ('resolved', 'self_served')"
_ACTIVE_IN = f"status IN ({','.join(repr(s) for s in ACTIVE)})"
#: SLA figures as of now are about open tickets, so they are read from the open tickets (`ix_tickets_open_rank`
#: holds `status`: a covering read of the open queue, never the closed history) and each one's alerts by
#: primary key (ticket, target, level). `+level` keeps the planner — the bot runs without statistics — on
#: that key: offered `level = ?`, it would pick ix_sla_alerts_due (level, due_at) and scan every alert of
#: that level in history for each ticket. The definitions are README.md's, unchanged:
#: SLA at risk — open tickets warned for a target not (yet) breached.
AT_RISK = (
    f"SELECT COUNT(*) FROM tickets t WHERE t.{OPEN} AND EXISTS (SELECT 1 FROM sla_alerts w"
    " WHERE w.ticket = t.number AND +w.level = 'warning' AND NOT EXISTS (SELECT 1 FROM sla_alerts b"
    " WHERE b.ticket = w.ticket AND b.target = w.target AND b.level = 'breach'))"
)
#: Open tickets with a breached target (the digest's "N open ticket(s) breached").
BREACHED_OPEN = (
    f"SELECT COUNT(*) FROM tickets t WHERE t.{OPEN}"
    " AND EXISTS (SELECT 1 FROM sla_alerts b WHERE b.ticket = t.number AND +b.level = 'breach')"
)
_MINUTES = "(julianday({end}) - julianday({start})) * 1440.0"


_TABLES = ("tickets", "ticket_events", "sla_alerts", "csat")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


class SqliteReports:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def report(self, since: datetime, until: datetime, *, oldest: int = 5, team: str | None = None) -> Report:
        """All metrics for `[since, until)` (of one team's tickets when `team` is given); open-queue figures
        are as of now (the moment of the query)."""
        with self._scope(team):
            return await self._compute(since, until, oldest=oldest)

    @contextmanager
    def _scope(self, team: str | None) -> Iterator[None]:
        if team is None:
            yield
            return
        try:
            for table in _TABLES:
                column = "number" if table == "tickets" else "ticket"
                self.conn.execute(
                    f"CREATE TEMP VIEW {table} AS SELECT * FROM main.{table} x WHERE EXISTS (SELECT 1 FROM"
                    f" main.ticket_routing r WHERE r.ticket = x.{column} AND r.team = {_quote(team)})"
                )
            yield
        finally:
            for table in _TABLES:
                self.conn.execute(f"DROP VIEW IF EXISTS temp.{table}")

    async def _count(self, sql: str, args: Sequence[Any]) -> int:
        row = fetch_one(self.conn, sql, args)
        return int(row[0] or 0) if row else 0

    async def _reopen_rate(self, span: tuple[str, str]) -> float | None:
        """The share (0–1) of the tickets resolved in the period that were reopened after that resolution,
        within the period. A share of tickets, so it never passes 100 % (reopens ÷ resolutions could)."""
        row = fetch_one(
            self.conn,
            "SELECT COUNT(*), SUM(EXISTS (SELECT 1 FROM ticket_events o WHERE o.ticket = r.ticket"
            " AND o.kind = 'reopened' AND o.at >= r.first_at AND o.at < ?))"
            f" FROM (SELECT ticket, MIN(at) AS first_at FROM ticket_events WHERE {_RESOLVED_KINDS}"
            " AND at >= ? AND at < ? GROUP BY ticket) r",
            (span[1], *span),
        )
        if not row or not row[0]:
            return None
        return round(int(row[1] or 0) / int(row[0]), 3)

    async def _compute(self, since: datetime, until: datetime, *, oldest: int = 5) -> Report:
        """All metrics for `[since, until)`; open-queue figures are as of now (the moment of the query)."""
        span = (to_db(since), to_db(until))
        created = await self._count("SELECT COUNT(*) FROM tickets WHERE created_at >= ? AND created_at < ?", span)
        resolved = await self._count(
            f"SELECT COUNT(*) FROM ticket_events WHERE {_RESOLVED_KINDS} AND at >= ? AND at < ?", span
        )
        closed = await self._count(
            "SELECT COUNT(*) FROM ticket_events WHERE kind='status_changed' AND at >= ? AND at < ?"
            " AND json_extract(detail, '$.after')='closed'",
            span,
        )
        reopened = await self._count(
            "SELECT COUNT(*) FROM ticket_events WHERE kind='reopened' AND at >= ? AND at < ?", span
        )
        reopen_rate = await self._reopen_rate(span)
        by_status: dict[str, int] = {s: 0 for s in ACTIVE}
        by_priority: dict[str, int] = {p.value: 0 for p in reversed(Priority)}
        for status, priority, n in fetch_all(
            self.conn, f"SELECT status, priority, COUNT(*) FROM tickets WHERE {_ACTIVE_IN} GROUP BY status, priority"
        ):
            by_status[status] = by_status.get(status, 0) + n
            by_priority[priority] = by_priority.get(priority, 0) + n
        unassigned = await self._count(f"SELECT COUNT(*) FROM tickets WHERE {_ACTIVE_IN} AND assignee_id IS NULL", ())

        first = fetch_all(
            self.conn,
            f"SELECT {_MINUTES.format(end='first_response_at', start='created_at')}, assignee_name FROM tickets"
            " WHERE created_at >= ? AND created_at < ? AND first_response_at IS NOT NULL",
            span,
        )
        resolution = fetch_all(
            self.conn,
            f"SELECT {_MINUTES.format(end='resolved_at', start='created_at')}, {_SELF_SERVED}, priority"
            " FROM tickets WHERE resolved_at >= ? AND resolved_at < ?",
            span,
        )
        deflected = sum(1 for r in resolution if r[1])
        resolved_by_priority: dict[str, int] = defaultdict(int)
        for r in resolution:
            resolved_by_priority[r[2]] += 1

        breached = await self._count(
            "SELECT COUNT(DISTINCT ticket) FROM sla_alerts WHERE level='breach' AND due_at >= ? AND due_at < ?",
            span,
        )
        at_risk = await self._count(AT_RISK, ())
        breached_open = await self._count(BREACHED_OPEN, ())
        requests = await self._count("SELECT COUNT(*) FROM csat WHERE asked_at >= ? AND asked_at < ?", span)
        rated = fetch_one(
            self.conn,
            "SELECT COUNT(*), AVG(rating) FROM csat WHERE rated_at >= ? AND rated_at < ? AND rating IS NOT NULL",
            span,
        )
        responses = int(rated[0]) if rated else 0
        average = round(float(rated[1]), 2) if rated and rated[1] is not None else None

        per_agent = await self._per_agent(span, first)
        waiting = fetch_all(
            self.conn,
            # the same condition as the partial index ix_tickets_waiting, so SQLite can use it
            "SELECT number, subject, priority, created_at FROM tickets"
            f" WHERE {OPEN} AND first_response_at IS NULL ORDER BY created_at, number LIMIT ?",
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
            macros=await SqliteMacros(self.conn).usage(since, until),
            incidents=await self.incidents(since, until),
        )

    async def _per_agent(self, span: tuple[str, str], first: Sequence[sqlite3.Row]) -> dict[str, AgentStats]:
        assigned: dict[str, int] = defaultdict(int)
        for name, n in fetch_all(
            self.conn,
            # the same condition as the partial index ix_tickets_open_load (covering)
            f"SELECT assignee_name, COUNT(*) FROM tickets WHERE assignee_id IS NOT NULL AND {OPEN}"
            " GROUP BY assignee_name",
        ):
            assigned[name] += n
        resolved: dict[str, int] = defaultdict(int)
        for name, n in fetch_all(
            self.conn,
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

    async def per_day(self, until: datetime, days: int = 14) -> Daily:
        """Created vs resolved per UTC day over the last `days` days up to `until` (for the chart)."""
        start = (until - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
        labels = tuple(f"{start + timedelta(days=i):%Y-%m-%d}" for i in range(days))
        span = (to_db(start), to_db(until))
        made: dict[str, int] = dict(
            (r[0], r[1])
            for r in fetch_all(
                self.conn,
                "SELECT substr(created_at, 1, 10), COUNT(*) FROM tickets WHERE created_at >= ? AND created_at < ?"
                " GROUP BY 1",
                span,
            )
        )
        done: dict[str, int] = dict(
            (r[0], r[1])
            for r in fetch_all(
                self.conn,
                f"SELECT substr(at, 1, 10), COUNT(*) FROM ticket_events WHERE {_RESOLVED_KINDS} AND at >= ? AND at < ?"
                " GROUP BY 1",
                span,
            )
        )
        return Daily(labels, tuple(int(made.get(d, 0)) for d in labels), tuple(int(done.get(d, 0)) for d in labels))

    async def incidents(self, since: datetime, until: datetime) -> IncidentStats:
        span = (to_db(since), to_db(until))
        opened = fetch_all(
            self.conn,
            "SELECT (julianday(created_at) - julianday(first_report_at)) * 1440.0 FROM incidents"
            " WHERE created_at >= ? AND created_at < ?",
            span,
        )
        linked = fetch_one(
            self.conn,
            "SELECT COUNT(*) FROM incident_links l JOIN incidents i ON i.id = l.incident"
            " WHERE i.created_at >= ? AND i.created_at < ? AND l.unlinked_at IS NULL",
            span,
        )
        resolved = fetch_all(
            self.conn,
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
