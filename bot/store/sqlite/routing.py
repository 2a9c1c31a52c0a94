"""Teams and assignment state: a ticket's team, who is away, the round-robin pointer per team, and the
"nobody is available" notice told once per team."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.domain.refs import UserRef
from bot.domain.ticket import Status
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, opt_from_db, to_db
from bot.store.sqlite.tickets import ASSIGNEE_PLATFORM

_OPEN = "status NOT IN ('resolved', 'closed')"
_ACTIVE = ", ".join(f"'{s.value}'" for s in Status if s.is_active)


class SqliteRouting:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def set_team(self, ticket: int, team: str | None) -> None:
        self.conn.execute(
            "INSERT INTO ticket_routing (ticket, team) VALUES (?, ?)"
            " ON CONFLICT (ticket) DO UPDATE SET team=excluded.team",
            (ticket, team),
        )

    async def team_of(self, ticket: int) -> str | None:
        row = fetch_one(self.conn, "SELECT team FROM ticket_routing WHERE ticket=?", (ticket,))
        return str(row[0]) if row and row[0] else None

    async def open_load(self, platform: str, ids: Sequence[str]) -> dict[str, int]:
        """Open tickets assigned to each of `ids` on `platform` (every team's)."""
        if not ids:
            return {}
        # (assignee, open status) pairs seek `ix_tickets_assignee`: the cost follows the members' open tickets, not
        # the history (the platform is only checked on those rows: an expression keeps the planner on that index)
        rows = fetch_all(
            self.conn,
            f"SELECT assignee_id, COUNT(*) FROM tickets WHERE assignee_id IN ({','.join('?' * len(ids))})"
            f" AND status IN ({_ACTIVE}) AND {ASSIGNEE_PLATFORM}=? GROUP BY assignee_id",
            (*ids, platform),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def away(self, platform: str, ids: Sequence[str], now: datetime) -> dict[str, datetime | None]:
        """Who of `ids` is away now, with until when (None: until they come back)."""
        if not ids:
            return {}
        rows = fetch_all(
            self.conn,
            f"SELECT id, away_until FROM agent_presence WHERE platform=? AND id IN ({','.join('?' * len(ids))})"
            " AND (away_until IS NULL OR away_until > ?)",
            (platform, *ids, to_db(now)),
        )
        return {str(r[0]): opt_from_db(r[1]) for r in rows}

    async def set_away(self, person: UserRef, until: datetime | None, now: datetime) -> None:
        self.conn.execute(
            "INSERT INTO agent_presence (platform, id, away_since, away_until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (platform, id) DO UPDATE SET away_since=excluded.away_since, away_until=excluded.away_until",
            (person.platform, person.id, to_db(now), to_db(until) if until else None),
        )

    async def set_back(self, person: UserRef) -> bool:
        cur = self.conn.execute("DELETE FROM agent_presence WHERE platform=? AND id=?", (person.platform, person.id))
        return cur.rowcount > 0

    async def pointer(self, team: str) -> str | None:
        row = fetch_one(self.conn, "SELECT last_member FROM assignment_pointers WHERE team=?", (team,))
        return str(row[0]) if row else None

    async def move_pointer(self, team: str, member: str, at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO assignment_pointers (team, last_member, at) VALUES (?, ?, ?)"
            " ON CONFLICT (team) DO UPDATE SET last_member=excluded.last_member, at=excluded.at",
            (team, member, to_db(at)),
        )

    async def mark_unstaffed(self, team: str, at: datetime, ticket: int) -> bool:
        """True the first time since someone was last available: the leads are told once."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO team_unstaffed (team, since, ticket) VALUES (?, ?, ?)", (team, to_db(at), ticket)
        )
        return cur.rowcount == 1

    async def clear_unstaffed(self, team: str) -> None:
        self.conn.execute("DELETE FROM team_unstaffed WHERE team=?", (team,))

    async def unstaffed_since(self, team: str) -> datetime | None:
        row = fetch_one(self.conn, "SELECT since FROM team_unstaffed WHERE team=?", (team,))
        return from_db(row[0]) if row else None

    async def waiting(self, team: str, limit: int = 50) -> list[int]:
        """The team's open unassigned tickets, oldest first."""
        rows = fetch_all(
            self.conn,
            f"SELECT t.number FROM tickets t JOIN ticket_routing r ON r.ticket = t.number WHERE r.team=?"
            f" AND t.assignee_id IS NULL AND t.{_OPEN} ORDER BY t.created_at, t.number LIMIT ?",
            (team, limit),
        )
        return [int(r[0]) for r in rows]

    async def open_assigned_to(self, person: UserRef) -> list[int]:
        rows = fetch_all(
            self.conn,
            f"SELECT number FROM tickets WHERE {ASSIGNEE_PLATFORM}=? AND assignee_id=? AND {_OPEN} ORDER BY created_at",
            (person.platform, person.id),
        )
        return [int(r[0]) for r in rows]

    async def team_counts(self, team: str) -> tuple[int, int]:
        """(open, of which unassigned) tickets of `team` now."""
        row = fetch_one(
            self.conn,
            f"SELECT COUNT(*), SUM(t.assignee_id IS NULL) FROM tickets t JOIN ticket_routing r ON r.ticket = t.number"
            f" WHERE r.team=? AND t.{_OPEN}",
            (team,),
        )
        return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)
