"""The team-lead report's SQL: every metric of README.md "Team leads → Metric definitions", written once.

A period is `[since, until)`; durations are wall-clock minutes. `team` scopes every figure to one team's
tickets through common table expressions named like the tables they shadow (within a statement, a WITH name
hides the table of that name), so — as with SQLite's TEMP views — the same queries serve the whole desk and
each team. They are parameterised and live for one statement: nothing is left on a pooled connection.

Durations are computed in Python the way SQLite's `julianday` computes them, so both engines report the same
numbers down to how a half is rounded.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bot.domain.ticket import Priority, Status
from bot.records import AgentStats, Csat, Daily, IncidentStats, Report, Spread, Waiting
from bot.store.postgres.macros import PgMacros

ACTIVE = tuple(s.value for s in Status if s.is_active)
OPEN = "status NOT IN ('resolved', 'closed')"
#: Deflection: the customer accepted a suggested article (`/kb accept`), which tags the ticket `self-served`.
_SELF_SERVED = """tags @> '["self-served"]'"""
#: A resolution by an agent (`resolved`) or by the customer with an article (`self_served`); per-agent
#: figures count only the agents' own.
_RESOLVED_KINDS = "kind IN ('resolved', 'self_served')"
_ACTIVE_IN = f"status IN ({','.join(repr(s) for s in ACTIVE)})"
#: SLA at risk — open tickets warned for a target not (yet) breached (README.md's definitions, as SQLite's).
AT_RISK = (
    f"SELECT COUNT(*) FROM tickets t WHERE t.{OPEN} AND EXISTS (SELECT 1 FROM sla_alerts w"
    " WHERE w.ticket = t.number AND w.level = 'warning' AND NOT EXISTS (SELECT 1 FROM sla_alerts b"
    " WHERE b.ticket = w.ticket AND b.target = w.target AND b.level = 'breach'))"
)
#: Open tickets with a breached target (the digest's "N open ticket(s) breached").
BREACHED_OPEN = (
    f"SELECT COUNT(*) FROM tickets t WHERE t.{OPEN}"
    " AND EXISTS (SELECT 1 FROM sla_alerts b WHERE b.ticket = t.number AND b.level = 'breach')"
)

#: table → its ticket column: the tables a team's report sees only that team's rows of
_TABLES = {"tickets": "number", "ticket_events": "ticket", "sla_alerts": "ticket", "csat": "ticket"}

_DAY_MS = 86_400_000
_UNIX_EPOCH = date(1970, 1, 1)
#: SQLite's Julian day of 1970-01-01T00:00Z (2440587.5), in milliseconds
_UNIX_EPOCH_JD_MS = 210_866_760_000_000


def _julianday(moment: datetime) -> float:
    """SQLite's `julianday()` of a stored moment: milliseconds since the Julian epoch (seconds with their
    fraction rounded half up to the millisecond, as a double, as SQLite parses them) over a day."""
    m = moment.astimezone(UTC)
    days = (m.date() - _UNIX_EPOCH).days
    seconds = m.second + m.microsecond / 1_000_000.0
    ms = m.hour * 3_600_000 + m.minute * 60_000 + int(seconds * 1000.0 + 0.5)
    return (_UNIX_EPOCH_JD_MS + days * _DAY_MS + ms) / float(_DAY_MS)


def minutes(end: datetime, start: datetime) -> float:
    """`(julianday(end) - julianday(start)) * 1440.0`, bit for bit: a duration of, say, 2 min 15 s is not
    exactly 2.25 there, and the report rounds it (and medians of it) to a tenth."""
    return (_julianday(end) - _julianday(start)) * 1440.0


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


class _Scope:
    """The report's statements, over the whole desk or (with `team`) over one team's tickets: then each
    statement starts with a WITH that shadows `_TABLES` by their team's rows, the team its last argument."""

    def __init__(self, conn: asyncpg.Connection, team: str | None) -> None:
        self.conn = conn
        self.team = team

    def _scoped(self, sql: str, args: Sequence[Any]) -> tuple[str, list[Any]]:
        if self.team is None:
            return sql, list(args)
        mark = f"${len(args) + 1}"
        views = ", ".join(
            f"{table} AS NOT MATERIALIZED (SELECT * FROM {table} x WHERE EXISTS (SELECT 1 FROM ticket_routing r"
            f" WHERE r.ticket = x.{column} AND r.team = {mark}))"
            for table, column in _TABLES.items()
        )
        return f"WITH {views} {sql}", [*args, self.team]

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        statement, values = self._scoped(sql, args)
        rows: list[asyncpg.Record] = await self.conn.fetch(statement, *values)
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        statement, values = self._scoped(sql, args)
        row: asyncpg.Record | None = await self.conn.fetchrow(statement, *values)
        return row

    async def count(self, sql: str, *args: Any) -> int:
        statement, values = self._scoped(sql, args)
        return int(await self.conn.fetchval(statement, *values) or 0)


class PgReports:
    """Implements `bot.repositories.ReportsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def report(self, since: datetime, until: datetime, *, oldest: int = 5, team: str | None = None) -> Report:
        """All metrics for `[since, until)` (of one team's tickets when `team` is given); open-queue figures
        are as of now (the moment of the query)."""
        return await self._compute(_Scope(self.conn, team), since, until, oldest=oldest)

    async def _reopen_rate(self, db: _Scope, since: datetime, until: datetime) -> float | None:
        """The share (0–1) of the tickets resolved in the period that were reopened after that resolution,
        within the period. A share of tickets, so it never passes 100 % (reopens ÷ resolutions could)."""
        row = await db.fetchrow(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM ticket_events o WHERE o.ticket = r.ticket"
            " AND o.kind = 'reopened' AND o.at >= r.first_at AND o.at < $2))"
            f" FROM (SELECT ticket, MIN(at) AS first_at FROM ticket_events WHERE {_RESOLVED_KINDS}"
            " AND at >= $1 AND at < $2 GROUP BY ticket) r",
            since,
            until,
        )
        if not row or not row[0]:
            return None
        return round(int(row[1] or 0) / int(row[0]), 3)

    async def _compute(self, db: _Scope, since: datetime, until: datetime, *, oldest: int = 5) -> Report:
        """All metrics for `[since, until)`; open-queue figures are as of now (the moment of the query)."""
        span = (since, until)
        created = await db.count("SELECT COUNT(*) FROM tickets WHERE created_at >= $1 AND created_at < $2", *span)
        resolved = await db.count(
            f"SELECT COUNT(*) FROM ticket_events WHERE {_RESOLVED_KINDS} AND at >= $1 AND at < $2", *span
        )
        closed = await db.count(
            "SELECT COUNT(*) FROM ticket_events WHERE kind='status_changed' AND at >= $1 AND at < $2"
            " AND detail ->> 'after' = 'closed'",
            *span,
        )
        reopened = await db.count(
            "SELECT COUNT(*) FROM ticket_events WHERE kind='reopened' AND at >= $1 AND at < $2", *span
        )
        reopen_rate = await self._reopen_rate(db, *span)
        by_status: dict[str, int] = {s: 0 for s in ACTIVE}
        by_priority: dict[str, int] = {p.value: 0 for p in reversed(Priority)}
        for status, priority, n in await db.fetch(
            f"SELECT status, priority, COUNT(*) FROM tickets WHERE {_ACTIVE_IN} GROUP BY status, priority"
        ):
            by_status[status] = by_status.get(status, 0) + n
            by_priority[priority] = by_priority.get(priority, 0) + n
        unassigned = await db.count(f"SELECT COUNT(*) FROM tickets WHERE {_ACTIVE_IN} AND assignee_id IS NULL")

        first = [
            (minutes(r[0], r[1]), r[2])
            for r in await db.fetch(
                "SELECT first_response_at, created_at, assignee_name FROM tickets"
                " WHERE created_at >= $1 AND created_at < $2 AND first_response_at IS NOT NULL",
                *span,
            )
        ]
        resolution = [
            (minutes(r[0], r[1]), r[2], r[3])
            for r in await db.fetch(
                f"SELECT resolved_at, created_at, {_SELF_SERVED}, priority"
                " FROM tickets WHERE resolved_at >= $1 AND resolved_at < $2",
                *span,
            )
        ]
        deflected = sum(1 for r in resolution if r[1])
        resolved_by_priority: dict[str, int] = defaultdict(int)
        for r in resolution:
            resolved_by_priority[r[2]] += 1

        breached = await db.count(
            "SELECT COUNT(DISTINCT ticket) FROM sla_alerts WHERE level='breach' AND due_at >= $1 AND due_at < $2",
            *span,
        )
        at_risk = await db.count(AT_RISK)
        breached_open = await db.count(BREACHED_OPEN)
        requests = await db.count("SELECT COUNT(*) FROM csat WHERE asked_at >= $1 AND asked_at < $2", *span)
        rated = await db.fetchrow(
            # a float average (a double's sum over the count), as SQLite's AVG
            "SELECT COUNT(*), AVG(rating::float8) FROM csat"
            " WHERE rated_at >= $1 AND rated_at < $2 AND rating IS NOT NULL",
            *span,
        )
        responses = int(rated[0]) if rated else 0
        average = round(float(rated[1]), 2) if rated and rated[1] is not None else None

        per_agent = await self._per_agent(db, span, first)
        waiting = await db.fetch(
            "SELECT number, subject, priority, created_at FROM tickets"
            f" WHERE {OPEN} AND first_response_at IS NULL ORDER BY created_at, number LIMIT $1",
            oldest,
        )
        macros = PgMacros(self.conn, writing=self.writing)
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
            oldest_waiting=tuple(Waiting(int(r[0]), r[1], r[2], r[3]) for r in waiting),
            resolved_by_priority=dict(resolved_by_priority),
            # SQLite's TEMP view scopes the macros' events too; here the team is named
            macros=await macros.usage(since, until, (db.team,) if db.team is not None else ()),
            # incidents are the desk's, not a team's (as in SQLite, whose views shadow no incident table)
            incidents=await self.incidents(since, until),
        )

    async def _per_agent(
        self, db: _Scope, span: tuple[datetime, datetime], first: Sequence[tuple[float, str | None]]
    ) -> dict[str, AgentStats]:
        assigned: dict[str, int] = defaultdict(int)
        for name, n in await db.fetch(
            f"SELECT assignee_name, COUNT(*) FROM tickets WHERE assignee_id IS NOT NULL AND {OPEN}"
            " GROUP BY assignee_name",
        ):
            assigned[name] += n
        resolved: dict[str, int] = defaultdict(int)
        for name, n in await db.fetch(
            "SELECT actor_name, COUNT(*) FROM ticket_events WHERE kind='resolved' AND at >= $1 AND at < $2"
            " GROUP BY actor_name",
            *span,
        ):
            resolved[name] += n
        by_agent: dict[str, list[float]] = defaultdict(list)
        for value, name in first:
            if name:
                by_agent[name].append(value)
        names = set(assigned) | set(resolved) | set(by_agent)
        return {
            name: AgentStats(assigned[name], resolved[name], Spread.of(by_agent.get(name, [])).median)
            for name in sorted(names)
        }

    async def per_day(self, until: datetime, days: int = 14) -> Daily:
        """Created vs resolved per UTC day over the last `days` days up to `until` (for the chart)."""
        start = (until - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
        labels = tuple(f"{start + timedelta(days=i):%Y-%m-%d}" for i in range(days))
        day = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        made: dict[str, int] = {
            r[0]: r[1]
            for r in await self.conn.fetch(
                f"SELECT {day.format('created_at')}, COUNT(*) FROM tickets WHERE created_at >= $1 AND created_at < $2"
                " GROUP BY 1",
                start,
                until,
            )
        }
        done: dict[str, int] = {
            r[0]: r[1]
            for r in await self.conn.fetch(
                f"SELECT {day.format('at')}, COUNT(*) FROM ticket_events WHERE {_RESOLVED_KINDS}"
                " AND at >= $1 AND at < $2 GROUP BY 1",
                start,
                until,
            )
        }
        return Daily(labels, tuple(int(made.get(d, 0)) for d in labels), tuple(int(done.get(d, 0)) for d in labels))

    async def incidents(self, since: datetime, until: datetime) -> IncidentStats:
        opened = await self.conn.fetch(
            "SELECT created_at, first_report_at FROM incidents WHERE created_at >= $1 AND created_at < $2",
            since,
            until,
        )
        linked = await self.conn.fetchval(
            "SELECT COUNT(*) FROM incident_links l JOIN incidents i ON i.id = l.incident"
            " WHERE i.created_at >= $1 AND i.created_at < $2 AND l.unlinked_at IS NULL",
            since,
            until,
        )
        resolved = await self.conn.fetch(
            "SELECT resolved_at, created_at FROM incidents WHERE resolved_at >= $1 AND resolved_at < $2",
            since,
            until,
        )
        return IncidentStats(
            count=len(opened),
            linked_tickets=int(linked or 0),
            resolved=len(resolved),
            time_to_detect_minutes=_median([max(0.0, minutes(r[0], r[1])) for r in opened if r[1] is not None]),
            time_to_resolve_minutes=_median([minutes(r[0], r[1]) for r in resolved]),
        )
