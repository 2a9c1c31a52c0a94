"""Incident rows, their links to tickets, the update log, unlinked wordings and the reports detection groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.domain.incident import Incident, IncidentStatus, IncidentUpdate
from bot.domain.refs import MessageRef, UserRef
from bot.records import IncidentReport, LoggedUpdate


def _incident(row: asyncpg.Record) -> Incident:
    platform = row["platform"]
    return Incident(
        id=row["id"],
        platform=platform,
        title=row["title"],
        status=IncidentStatus(row["status"]),
        owner=UserRef(platform=platform, id=row["owner_id"], name=row["owner_name"] or "") if row["owner_id"] else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        first_report_at=row["first_report_at"],
        resolved_at=row["resolved_at"],
        resolution=row["resolution"],
        card=MessageRef(platform=platform, channel=row["card_channel"], id=row["card_message"])
        if row["card_message"]
        else None,
        source=row["source"],
    )


def _count(status: str) -> int:
    """The row count of a command status such as `UPDATE 1`."""
    return int(status.rsplit(" ", 1)[-1])


class PgIncidents:
    """Implements `bot.repositories.IncidentsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    @property
    def _lock(self) -> str:
        """A writing unit reads an incident to change it: the row stays locked until the unit ends, so two
        units on one incident (in one process or two) take turns."""
        return " FOR UPDATE" if self.writing else ""

    async def insert_incident(
        self, *, platform: str, title: str, owner: UserRef | None, source: str, rule: str | None, at: datetime
    ) -> Incident:
        number = await self.conn.fetchval(
            "INSERT INTO incidents (platform, title, status, owner_id, owner_name, source, rule, created_at,"
            " updated_at) VALUES ($1, $2, 'investigating', $3, $4, $5, $6, $7, $7) RETURNING id",
            platform,
            title,
            owner.id if owner else None,
            owner.display if owner else None,
            source,
            rule,
            at,
        )
        return Incident(
            id=int(number), platform=platform, title=title, owner=owner, created_at=at, updated_at=at, source=source
        )

    async def save_incident(self, incident: Incident) -> None:
        i = incident
        await self.conn.execute(
            "UPDATE incidents SET title = $1, status = $2, owner_id = $3, owner_name = $4, updated_at = $5,"
            " first_report_at = $6, resolved_at = $7, resolution = $8 WHERE id = $9",
            i.title,
            i.status.value,
            i.owner.id if i.owner else None,
            i.owner.display if i.owner else None,
            i.updated_at,
            i.first_report_at,
            i.resolved_at,
            i.resolution,
            i.id,
        )

    async def save_card(self, incident: int, card: MessageRef) -> None:
        await self.conn.execute(
            "UPDATE incidents SET card_channel = $1, card_message = $2 WHERE id = $3", card.channel, card.id, incident
        )

    async def get_incident(self, incident: int) -> Incident | None:
        row = await self.conn.fetchrow("SELECT * FROM incidents WHERE id = $1" + self._lock, incident)
        return _incident(row) if row else None

    async def rule_of(self, incident: int) -> str | None:
        value = await self.conn.fetchval("SELECT rule FROM incidents WHERE id = $1", incident)
        return str(value) if value else None

    async def incident_for_card(self, platform: str, channel: str, message: str) -> Incident | None:
        """Locked in a writing unit like `get_incident`: a note written in the card's thread changes it."""
        row = await self.conn.fetchrow(
            "SELECT * FROM incidents WHERE platform = $1 AND card_channel = $2 AND card_message = $3" + self._lock,
            platform,
            channel,
            message,
        )
        return _incident(row) if row else None

    async def list_incidents(self, *, open_only: bool, platform: str | None = None, limit: int = 50) -> list[Incident]:
        where: list[str] = []
        args: list[object] = []
        if open_only:
            where.append("status != 'resolved'")
        if platform is not None:
            args.append(platform)
            where.append(f"platform = ${len(args)}")
        args.append(limit)
        sql = "SELECT * FROM incidents" + (" WHERE " + " AND ".join(where) if where else "")
        rows = await self.conn.fetch(sql + f" ORDER BY id DESC LIMIT ${len(args)}", *args)
        return [_incident(r) for r in rows]

    async def incidents_between(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents opened or resolved in [start, end)."""
        rows = await self.conn.fetch(
            "SELECT * FROM incidents WHERE (created_at >= $1 AND created_at < $2)"
            " OR (resolved_at >= $1 AND resolved_at < $2) ORDER BY id",
            start,
            end,
        )
        return [_incident(r) for r in rows]

    async def link(self, incident: int, ticket: int, at: datetime, how: str) -> None:
        await self.conn.execute(
            "INSERT INTO incident_links (incident, ticket, linked_at, how) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (incident, ticket)"
            " DO UPDATE SET linked_at = excluded.linked_at, how = excluded.how, unlinked_at = NULL",
            incident,
            ticket,
            at,
            how,
        )
        await self.conn.execute("UPDATE incident_reports SET state = 'linked' WHERE ticket = $1", ticket)

    async def unlink(self, incident: int, ticket: int, at: datetime) -> bool:
        status = await self.conn.execute(
            "UPDATE incident_links SET unlinked_at = $1 WHERE incident = $2 AND ticket = $3 AND unlinked_at IS NULL",
            at,
            incident,
            ticket,
        )
        await self.conn.execute("UPDATE incident_reports SET state = 'dismissed' WHERE ticket = $1", ticket)
        return _count(status) == 1

    async def linked_tickets(self, incident: int) -> list[int]:
        rows = await self.conn.fetch(
            "SELECT ticket FROM incident_links WHERE incident = $1 AND unlinked_at IS NULL ORDER BY ticket", incident
        )
        return [int(r[0]) for r in rows]

    async def ever_linked(self, incident: int) -> int:
        value = await self.conn.fetchval("SELECT count(*) FROM incident_links WHERE incident = $1", incident)
        return int(value or 0)

    async def incident_of_ticket(self, ticket: int) -> int | None:
        value = await self.conn.fetchval(
            "SELECT incident FROM incident_links WHERE ticket = $1 AND unlinked_at IS NULL", ticket
        )
        return int(value) if value is not None else None

    async def member_texts(self, incident: int, limit: int = 20) -> list[str]:
        """What the linked customers wrote when they opened their tickets (the earliest `limit`)."""
        rows = await self.conn.fetch(
            "SELECT t.description FROM incident_links l JOIN tickets t ON t.number = l.ticket"
            " WHERE l.incident = $1 AND l.unlinked_at IS NULL ORDER BY l.ticket LIMIT $2",
            incident,
            limit,
        )
        return [str(r[0]) for r in rows]

    async def last_report_at(self, incident: int) -> datetime | None:
        """When the latest linked report arrived (the ticket's opening)."""
        value: datetime | None = await self.conn.fetchval(
            "SELECT max(t.created_at) FROM incident_links l JOIN tickets t ON t.number = l.ticket"
            " WHERE l.incident = $1 AND l.unlinked_at IS NULL",
            incident,
        )
        return value

    async def first_report_at(self, incident: int) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT min(t.created_at) FROM incident_links l JOIN tickets t ON t.number = l.ticket"
            " WHERE l.incident = $1",
            incident,
        )
        return value

    async def add_update(
        self, incident: int, at: datetime, author: UserRef, status: IncidentStatus, text: str, *, visibility: str
    ) -> None:
        await self.conn.execute(
            "INSERT INTO incident_updates (incident, at, author_platform, author_id, author_name, status,"
            " visibility, text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            incident,
            at,
            author.platform,
            author.id,
            author.display,
            status.value,
            visibility,
            text,
        )

    async def updates_for(self, incident: int, *, public_only: bool) -> list[LoggedUpdate]:
        sql = "SELECT * FROM incident_updates WHERE incident = $1" + (
            " AND visibility = 'public'" if public_only else ""
        )
        rows = await self.conn.fetch(sql + " ORDER BY id", incident)
        return [
            LoggedUpdate(
                update=IncidentUpdate(
                    at=r["at"],
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
        await self.conn.execute(
            "INSERT INTO incident_negatives (incident, ticket, text, at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (incident, ticket) DO UPDATE SET text = excluded.text, at = excluded.at",
            incident,
            ticket,
            text,
            at,
        )

    async def negatives_for(self, incident: int) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT text FROM incident_negatives WHERE incident = $1 ORDER BY at, ticket", incident
        )
        return [str(r[0]) for r in rows]

    async def record_report(
        self, ticket: int, platform: str, customer: str, at: datetime, text: str, rule: str | None, state: str
    ) -> None:
        await self.conn.execute(
            "INSERT INTO incident_reports (ticket, platform, customer, at, text, rule, state)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ticket) DO NOTHING",
            ticket,
            platform,
            customer,
            at,
            text,
            rule,
            state,
        )

    async def free_reports(
        self, platform: str, since: datetime, *, exclude: int, state: str = "free", limit: int = 200
    ) -> list[IncidentReport]:
        """The latest `limit` reports since `since` that belong to no incident, proposal or dismissal yet (or
        in `state`), oldest first. Reports of the same moment come in ticket order, as SQLite's index gives
        them."""
        rows = await self.conn.fetch(
            "SELECT ticket, customer, text, rule FROM incident_reports"
            " WHERE platform = $1 AND at >= $2 AND state = $3 AND ticket != $4 ORDER BY at DESC, ticket DESC LIMIT $5",
            platform,
            since,
            state,
            exclude,
            limit,
        )
        return [IncidentReport(r[0], r[1], r[2], r[3]) for r in reversed(rows)]

    async def set_report_state(self, tickets: Sequence[int], state: str) -> None:
        if tickets:
            await self.conn.execute(
                "UPDATE incident_reports SET state = $1 WHERE ticket = ANY($2::bigint[])", state, list(tickets)
            )

    async def recent_report_texts(self, limit: int) -> list[str]:
        """The background corpus for word rarity after a restart."""
        rows = await self.conn.fetch("SELECT text FROM incident_reports ORDER BY ticket DESC LIMIT $1", limit)
        return [str(r[0]) for r in reversed(rows)]

    async def all_proposed(self, numbers: list[int]) -> bool:
        """Every one of these tickets is a report waiting in a detection proposal."""
        value = await self.conn.fetchval(
            "SELECT count(*) FROM incident_reports WHERE state = 'proposed' AND ticket = ANY($1::bigint[])",
            numbers,
        )
        return int(value) == len(numbers)
