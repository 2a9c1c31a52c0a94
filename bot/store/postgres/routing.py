"""Teams and assignment state: a ticket's team, who is away, the round-robin pointer per team, and the
"nobody is available" notice told once per team."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.domain.refs import UserRef
from bot.domain.ticket import Status
from bot.store.postgres.tickets import ASSIGNEE_PLATFORM

_OPEN = "status NOT IN ('resolved', 'closed')"


class PgRouting:
    """Implements `bot.repositories.RoutingRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def set_team(self, ticket: int, team: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO ticket_routing (ticket, team) VALUES ($1, $2)"
            " ON CONFLICT (ticket) DO UPDATE SET team = excluded.team",
            ticket,
            team,
        )

    async def team_of(self, ticket: int) -> str | None:
        value = await self.conn.fetchval("SELECT team FROM ticket_routing WHERE ticket = $1", ticket)
        return str(value) if value else None

    async def open_load(self, platform: str, ids: Sequence[str]) -> dict[str, int]:
        """Open tickets assigned to each of `ids` on `platform` (every team's)."""
        if not ids:
            return {}
        # (assignee, open status) pairs are index ranges of `ix_tickets_assignee`: the members' open tickets are
        # read, not their whole history
        rows = await self.conn.fetch(
            "SELECT assignee_id, count(*) FROM tickets WHERE assignee_id = ANY($1::text[])"
            f" AND status = ANY($3::text[]) AND {ASSIGNEE_PLATFORM} = $2 GROUP BY assignee_id",
            list(ids),
            platform,
            [s.value for s in Status if s.is_active],
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def away(self, platform: str, ids: Sequence[str], now: datetime) -> dict[str, datetime | None]:
        """Who of `ids` is away now, with until when (None: until they come back)."""
        if not ids:
            return {}
        rows = await self.conn.fetch(
            "SELECT id, away_until FROM agent_presence WHERE platform = $1 AND id = ANY($2::text[])"
            " AND (away_until IS NULL OR away_until > $3)",
            platform,
            list(ids),
            now,
        )
        return {str(r[0]): r[1] for r in rows}

    async def set_away(self, person: UserRef, until: datetime | None, now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO agent_presence (platform, id, away_since, away_until) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (platform, id) DO UPDATE SET away_since = excluded.away_since,"
            " away_until = excluded.away_until",
            person.platform,
            person.id,
            now,
            until,
        )

    async def set_back(self, person: UserRef) -> bool:
        status = await self.conn.execute(
            "DELETE FROM agent_presence WHERE platform = $1 AND id = $2", person.platform, person.id
        )
        return _count(status) > 0

    async def pointer(self, team: str) -> str | None:
        """The member the team's last turn went to. In a writing unit the pointer is locked until the unit
        ends, so two processes assigning for one team at once take turns and each moves it once. Before the
        team's first assignment there is no row to lock: a transaction-scoped advisory lock on the schema and
        team name stands in for it until the first pointer row is committed."""
        sql = "SELECT last_member FROM assignment_pointers WHERE team = $1"
        if not self.writing:
            value = await self.conn.fetchval(sql, team)
            return str(value) if value is not None else None
        value = await self.conn.fetchval(sql + " FOR UPDATE", team)
        if value is None:
            await self.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.assignment_pointer:' || $1, 0))",
                team,
            )
            # a unit that held the advisory lock before us has committed its row by now: read it again
            value = await self.conn.fetchval(sql + " FOR UPDATE", team)
        return str(value) if value is not None else None

    async def move_pointer(self, team: str, member: str, at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO assignment_pointers (team, last_member, at) VALUES ($1, $2, $3)"
            " ON CONFLICT (team) DO UPDATE SET last_member = excluded.last_member, at = excluded.at",
            team,
            member,
            at,
        )

    async def mark_unstaffed(self, team: str, at: datetime, ticket: int) -> bool:
        """True the first time since someone was last available: the leads are told once."""
        inserted = await self.conn.fetchval(
            "INSERT INTO team_unstaffed (team, since, ticket) VALUES ($1, $2, $3)"
            " ON CONFLICT (team) DO NOTHING RETURNING true",
            team,
            at,
            ticket,
        )
        return inserted is not None

    async def clear_unstaffed(self, team: str) -> None:
        await self.conn.execute("DELETE FROM team_unstaffed WHERE team = $1", team)

    async def unstaffed_since(self, team: str) -> datetime | None:
        value: datetime | None = await self.conn.fetchval("SELECT since FROM team_unstaffed WHERE team = $1", team)
        return value

    async def waiting(self, team: str, limit: int = 50) -> list[int]:
        """The team's open unassigned tickets, oldest first."""
        rows = await self.conn.fetch(
            f"SELECT t.number FROM tickets t JOIN ticket_routing r ON r.ticket = t.number WHERE r.team = $1"
            f" AND t.assignee_id IS NULL AND t.{_OPEN} ORDER BY t.created_at, t.number LIMIT $2",
            team,
            limit,
        )
        return [int(r[0]) for r in rows]

    async def open_assigned_to(self, person: UserRef) -> list[int]:
        rows = await self.conn.fetch(
            f"SELECT number FROM tickets WHERE {ASSIGNEE_PLATFORM} = $1 AND assignee_id = $2 AND {_OPEN}"
            " ORDER BY created_at, number",
            person.platform,
            person.id,
        )
        return [int(r[0]) for r in rows]

    async def team_counts(self, team: str) -> tuple[int, int]:
        """(open, of which unassigned) tickets of `team` now."""
        row = await self.conn.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE t.assignee_id IS NULL)"
            f" FROM tickets t JOIN ticket_routing r ON r.ticket = t.number WHERE r.team = $1 AND t.{_OPEN}",
            team,
        )
        return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


def _count(status: str) -> int:
    """The row count of a command status such as `DELETE 1` or `UPDATE 3`."""
    return int(status.rsplit(" ", 1)[-1])
