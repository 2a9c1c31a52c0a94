"""Incident rows, their links to tickets, the update log, unlinked wordings and the reports detection groups."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.domain.incident import Incident, IncidentStatus, IncidentUpdate
from bot.domain.refs import MessageRef, UserRef
from bot.records import IncidentReport, LoggedUpdate
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, opt_from_db, to_db


def _opt(moment: datetime | None) -> str | None:
    return to_db(moment) if moment is not None else None


def _incident(row: sqlite3.Row) -> Incident:
    platform = row["platform"]
    return Incident(
        id=row["id"],
        platform=platform,
        title=row["title"],
        status=IncidentStatus(row["status"]),
        owner=UserRef(platform=platform, id=row["owner_id"], name=row["owner_name"] or "") if row["owner_id"] else None,
        created_at=from_db(row["created_at"]),
        updated_at=from_db(row["updated_at"]),
        first_report_at=opt_from_db(row["first_report_at"]),
        resolved_at=opt_from_db(row["resolved_at"]),
        resolution=row["resolution"],
        card=MessageRef(platform=platform, channel=row["card_channel"], id=row["card_message"])
        if row["card_message"]
        else None,
        source=row["source"],
    )


# --- links ------------------------------------------------------------------------------------------------


# --- the update log and internal notes ------------------------------------------------------------------------


# --- negative examples and reports -------------------------------------------------------------------------


class SqliteIncidents:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def insert_incident(
        self, *, platform: str, title: str, owner: UserRef | None, source: str, rule: str | None, at: datetime
    ) -> Incident:
        cur = self.conn.execute(
            "INSERT INTO incidents (platform, title, status, owner_id,"
            " owner_name, source, rule, created_at, updated_at)"
            " VALUES (?, ?, 'investigating', ?, ?, ?, ?, ?, ?)",
            (
                platform,
                title,
                owner.id if owner else None,
                owner.display if owner else None,
                source,
                rule,
                to_db(at),
                to_db(at),
            ),
        )
        assert cur.lastrowid is not None
        return Incident(
            id=cur.lastrowid, platform=platform, title=title, owner=owner, created_at=at, updated_at=at, source=source
        )

    async def save_incident(self, incident: Incident) -> None:
        i = incident
        self.conn.execute(
            "UPDATE incidents SET title=?, status=?, owner_id=?, owner_name=?, updated_at=?, first_report_at=?,"
            " resolved_at=?, resolution=? WHERE id=?",
            (
                i.title,
                i.status.value,
                i.owner.id if i.owner else None,
                i.owner.display if i.owner else None,
                to_db(i.updated_at),
                _opt(i.first_report_at),
                _opt(i.resolved_at),
                i.resolution,
                i.id,
            ),
        )

    async def save_card(self, incident: int, card: MessageRef) -> None:
        self.conn.execute(
            "UPDATE incidents SET card_channel=?, card_message=? WHERE id=?", (card.channel, card.id, incident)
        )

    async def get_incident(self, incident: int) -> Incident | None:
        row = fetch_one(self.conn, "SELECT * FROM incidents WHERE id=?", (incident,))
        return _incident(row) if row else None

    async def rule_of(self, incident: int) -> str | None:
        row = fetch_one(self.conn, "SELECT rule FROM incidents WHERE id=?", (incident,))
        return str(row[0]) if row and row[0] else None

    async def incident_for_card(self, platform: str, channel: str, message: str) -> Incident | None:
        row = fetch_one(
            self.conn,
            "SELECT * FROM incidents WHERE platform=? AND card_channel=? AND card_message=?",
            (platform, channel, message),
        )
        return _incident(row) if row else None

    async def list_incidents(self, *, open_only: bool, platform: str | None = None, limit: int = 50) -> list[Incident]:
        where, args = [], []
        if open_only:
            where.append("status != 'resolved'")
        if platform is not None:
            where.append("platform=?")
            args.append(platform)
        sql = "SELECT * FROM incidents" + (" WHERE " + " AND ".join(where) if where else "")
        rows = fetch_all(self.conn, sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [_incident(r) for r in rows]

    async def incidents_between(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents opened or resolved in [start, end)."""
        rows = fetch_all(
            self.conn,
            "SELECT * FROM incidents WHERE (created_at >= ? AND created_at"
            " < ?) OR (resolved_at >= ? AND resolved_at < ?)"
            " ORDER BY id",
            (to_db(start), to_db(end), to_db(start), to_db(end)),
        )
        return [_incident(r) for r in rows]

    async def link(self, incident: int, ticket: int, at: datetime, how: str) -> None:
        self.conn.execute(
            "INSERT INTO incident_links (incident, ticket, linked_at, how) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (incident, ticket)"
            " DO UPDATE SET linked_at=excluded.linked_at, how=excluded.how, unlinked_at=NULL",
            (incident, ticket, to_db(at), how),
        )
        self.conn.execute("UPDATE incident_reports SET state='linked' WHERE ticket=?", (ticket,))

    async def unlink(self, incident: int, ticket: int, at: datetime) -> bool:
        cur = self.conn.execute(
            "UPDATE incident_links SET unlinked_at=? WHERE incident=? AND ticket=? AND unlinked_at IS NULL",
            (to_db(at), incident, ticket),
        )
        self.conn.execute("UPDATE incident_reports SET state='dismissed' WHERE ticket=?", (ticket,))
        return cur.rowcount == 1

    async def linked_tickets(self, incident: int) -> list[int]:
        rows = fetch_all(
            self.conn,
            "SELECT ticket FROM incident_links WHERE incident=? AND unlinked_at IS NULL ORDER BY ticket",
            (incident,),
        )
        return [int(r[0]) for r in rows]

    async def ever_linked(self, incident: int) -> int:
        row = fetch_one(self.conn, "SELECT COUNT(*) FROM incident_links WHERE incident=?", (incident,))
        return int(row[0]) if row else 0

    async def incident_of_ticket(self, ticket: int) -> int | None:
        row = fetch_one(
            self.conn, "SELECT incident FROM incident_links WHERE ticket=? AND unlinked_at IS NULL", (ticket,)
        )
        return int(row[0]) if row else None

    async def member_texts(self, incident: int, limit: int = 20) -> list[str]:
        """What the linked customers wrote when they opened their tickets (the earliest `limit`)."""
        rows = fetch_all(
            self.conn,
            "SELECT t.description FROM incident_links l JOIN tickets t ON t.number = l.ticket"
            " WHERE l.incident=? AND l.unlinked_at IS NULL ORDER BY l.ticket LIMIT ?",
            (incident, limit),
        )
        return [str(r[0]) for r in rows]

    async def last_report_at(self, incident: int) -> datetime | None:
        """When the latest linked report arrived (the ticket's opening)."""
        row = fetch_one(
            self.conn,
            "SELECT MAX(t.created_at) FROM incident_links l JOIN tickets t ON t.number = l.ticket"
            " WHERE l.incident=? AND l.unlinked_at IS NULL",
            (incident,),
        )
        return from_db(row[0]) if row and row[0] else None

    async def first_report_at(self, incident: int) -> datetime | None:
        row = fetch_one(
            self.conn,
            "SELECT MIN(t.created_at) FROM incident_links l JOIN tickets t ON t.number = l.ticket WHERE l.incident=?",
            (incident,),
        )
        return from_db(row[0]) if row and row[0] else None

    async def add_update(
        self, incident: int, at: datetime, author: UserRef, status: IncidentStatus, text: str, *, visibility: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO incident_updates (incident, at, author_platform,"
            " author_id, author_name, status, visibility, text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (incident, to_db(at), author.platform, author.id, author.display, status.value, visibility, text),
        )

    async def updates_for(self, incident: int, *, public_only: bool) -> list[LoggedUpdate]:
        sql = "SELECT * FROM incident_updates WHERE incident=?" + (" AND visibility='public'" if public_only else "")
        rows = fetch_all(self.conn, sql + " ORDER BY id", (incident,))
        return [
            LoggedUpdate(
                update=IncidentUpdate(
                    at=from_db(r["at"]),
                    author=UserRef(platform=r["author_platform"], id=r["author_id"], name=r["author_name"]),
                    status=IncidentStatus(r["status"]),
                    text=r["text"],
                ),
                visibility=r["visibility"],
            )
            for r in rows
        ]

    async def latest_public_update(self, incident: int) -> IncidentUpdate | None:
        found = await self.updates_for(incident, public_only=True)
        return found[-1].update if found else None

    async def add_negative(self, incident: int, ticket: int, text: str, at: datetime) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO incident_negatives (incident, ticket, text, at) VALUES (?, ?, ?, ?)",
            (incident, ticket, text, to_db(at)),
        )

    async def negatives_for(self, incident: int) -> list[str]:
        rows = fetch_all(self.conn, "SELECT text FROM incident_negatives WHERE incident=? ORDER BY at", (incident,))
        return [str(r[0]) for r in rows]

    async def record_report(
        self, ticket: int, platform: str, customer: str, at: datetime, text: str, rule: str | None, state: str
    ) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO incident_reports (ticket, platform, customer, at, text, rule, state)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ticket, platform, customer, to_db(at), text, rule, state),
        )

    async def free_reports(
        self, platform: str, since: datetime, *, exclude: int, state: str = "free", limit: int = 200
    ) -> list[IncidentReport]:
        """The latest `limit` reports since `since` that belong to no incident, proposal or dismissal yet (or
        in `state`), oldest first."""
        cursor = self.conn.execute(
            "SELECT ticket, customer, text, rule FROM incident_reports"
            " WHERE platform=? AND at >= ? AND state=? AND ticket != ? ORDER BY at DESC LIMIT ?",
            (platform, to_db(since), state, exclude, limit),
        )
        cursor.row_factory = None  # plain tuples: detection reads these for every new ticket
        rows: list[tuple[int, str, str, str | None]] = cursor.fetchall()
        return [IncidentReport._make(row) for row in reversed(rows)]

    async def set_report_state(self, tickets: Sequence[int], state: str) -> None:
        if tickets:
            self.conn.execute(
                f"UPDATE incident_reports SET state=? WHERE ticket IN ({','.join('?' * len(tickets))})",
                (state, *tickets),
            )

    async def recent_report_texts(self, limit: int) -> list[str]:
        """The background corpus for word rarity after a restart."""
        rows = fetch_all(self.conn, "SELECT text FROM incident_reports ORDER BY ticket DESC LIMIT ?", (limit,))
        return [str(r[0]) for r in reversed(rows)]

    async def all_proposed(self, numbers: list[int]) -> bool:
        """Every one of these tickets is a report waiting in a detection proposal."""
        row = fetch_one(
            self.conn,
            "SELECT COUNT(*) FROM incident_reports WHERE state='proposed'"
            f" AND ticket IN ({','.join('?' * len(numbers))})",
            numbers,
        )
        return row is not None and int(row[0]) == len(numbers)
