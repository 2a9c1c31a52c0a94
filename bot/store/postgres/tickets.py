"""SKELETON — replace with the PostgreSQL implementation of the repositories below."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from bot.domain.refs import MessageRef, ThreadRef, UserRef
from bot.domain.ticket import Priority, Ticket
from bot.records import (
    Event,
    LoggedMessage,
    TicketQuery,
)


class PgTickets:
    """Implements `bot.repositories.TicketsRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def insert_ticket(
        self,
        *,
        subject: str,
        description: str,
        customer: UserRef,
        origin: ThreadRef,
        priority: Priority,
        category: str,
        at: datetime,
    ) -> Ticket:
        raise NotImplementedError  # SKELETON

    async def save_ticket(self, ticket: Ticket) -> None:
        raise NotImplementedError  # SKELETON

    async def save_card(self, number: int, card: MessageRef) -> None:
        raise NotImplementedError  # SKELETON

    async def set_origin_thread(self, number: int, thread: str) -> None:
        raise NotImplementedError  # SKELETON

    async def get_ticket(self, number: int) -> Ticket | None:
        raise NotImplementedError  # SKELETON

    async def ticket_for_thread(self, thread: ThreadRef) -> tuple[Ticket, bool] | None:
        raise NotImplementedError  # SKELETON

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        raise NotImplementedError  # SKELETON

    async def count_active_for_customer(self, customer: UserRef) -> int:
        raise NotImplementedError  # SKELETON


class PgHistory:
    """Implements `bot.repositories.HistoryRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def add_event(self, ticket: int, at: datetime, actor: UserRef, kind: str, **detail: Any) -> None:
        raise NotImplementedError  # SKELETON

    async def events_for(self, ticket: int) -> list[Event]:
        raise NotImplementedError  # SKELETON


class PgMessages:
    """Implements `bot.repositories.MessagesRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def add_message(
        self,
        ticket: int,
        at: datetime,
        author: UserRef,
        *,
        role: str,
        visibility: str,
        body: str,
        delivery: str,
        platform_message_id: str | None = None,
    ) -> int:
        raise NotImplementedError  # SKELETON

    async def messages_for(self, ticket: int, *, public_only: bool = False) -> list[LoggedMessage]:
        raise NotImplementedError  # SKELETON


class PgPeople:
    """Implements `bot.repositories.PeopleRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def remember_person(self, user: UserRef, at: datetime) -> None:
        raise NotImplementedError  # SKELETON

    async def find_person(self, platform: str, token: str) -> UserRef | None:
        raise NotImplementedError  # SKELETON
