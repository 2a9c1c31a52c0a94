"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.domain.incident import Incident, IncidentStatus, IncidentUpdate
from bot.domain.refs import MessageRef, UserRef
from bot.records import (
    IncidentReport,
    LoggedUpdate,
)


class PgIncidents:
    """Implements `bot.repositories.IncidentsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def insert_incident(
        self, *, platform: str, title: str, owner: UserRef | None, source: str, rule: str | None, at: datetime
    ) -> Incident:
        raise NotImplementedError  # SKELETON

    async def save_incident(self, incident: Incident) -> None:
        raise NotImplementedError  # SKELETON

    async def save_card(self, incident: int, card: MessageRef) -> None:
        raise NotImplementedError  # SKELETON

    async def get_incident(self, incident: int) -> Incident | None:
        raise NotImplementedError  # SKELETON

    async def rule_of(self, incident: int) -> str | None:
        raise NotImplementedError  # SKELETON

    async def incident_for_card(self, platform: str, channel: str, message: str) -> Incident | None:
        raise NotImplementedError  # SKELETON

    async def list_incidents(self, *, open_only: bool, platform: str | None = None, limit: int = 50) -> list[Incident]:
        raise NotImplementedError  # SKELETON

    async def incidents_between(self, start: datetime, end: datetime) -> list[Incident]:
        raise NotImplementedError  # SKELETON

    async def link(self, incident: int, ticket: int, at: datetime, how: str) -> None:
        raise NotImplementedError  # SKELETON

    async def unlink(self, incident: int, ticket: int, at: datetime) -> bool:
        raise NotImplementedError  # SKELETON

    async def linked_tickets(self, incident: int) -> list[int]:
        raise NotImplementedError  # SKELETON

    async def ever_linked(self, incident: int) -> int:
        raise NotImplementedError  # SKELETON

    async def incident_of_ticket(self, ticket: int) -> int | None:
        raise NotImplementedError  # SKELETON

    async def member_texts(self, incident: int, limit: int = 20) -> list[str]:
        raise NotImplementedError  # SKELETON

    async def last_report_at(self, incident: int) -> datetime | None:
        raise NotImplementedError  # SKELETON

    async def first_report_at(self, incident: int) -> datetime | None:
        raise NotImplementedError  # SKELETON

    async def add_update(
        self, incident: int, at: datetime, author: UserRef, status: IncidentStatus, text: str, *, visibility: str
    ) -> None:
        raise NotImplementedError  # SKELETON

    async def updates_for(self, incident: int, *, public_only: bool) -> list[LoggedUpdate]:
        raise NotImplementedError  # SKELETON

    async def latest_public_update(self, incident: int) -> IncidentUpdate | None:
        raise NotImplementedError  # SKELETON

    async def add_negative(self, incident: int, ticket: int, text: str, at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def negatives_for(self, incident: int) -> list[str]:
        raise NotImplementedError  # SKELETON

    async def record_report(
        self, ticket: int, platform: str, customer: str, at: datetime, text: str, rule: str | None, state: str
    ) -> None:
        raise NotImplementedError  # SKELETON

    async def free_reports(
        self, platform: str, since: datetime, *, exclude: int, state: str = "free", limit: int = 200
    ) -> list[IncidentReport]:
        raise NotImplementedError  # SKELETON

    async def set_report_state(self, tickets: Sequence[int], state: str) -> None:
        raise NotImplementedError  # SKELETON

    async def recent_report_texts(self, limit: int) -> list[str]:
        raise NotImplementedError  # SKELETON

    async def all_proposed(self, numbers: list[int]) -> bool:
        raise NotImplementedError  # SKELETON
