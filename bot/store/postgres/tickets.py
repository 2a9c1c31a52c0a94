"""Ticket rows, their history (events), message log, idempotent intake and the people we have seen.

The PostgreSQL twin of `bot.store.sqlite.tickets`. A writing unit reads the ticket it is about to change
`FOR UPDATE` (`get_ticket`, `ticket_for_thread`): two units on one ticket — in one process or in two — take
turns. The rows a ticket owns (its SLA clock, survey, timers) are changed only by units holding that lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg

from bot.domain.refs import MessageRef, ThreadRef, UserRef
from bot.domain.ticket import Priority, Status, Ticket
from bot.records import Event, LoggedMessage, TicketQuery
from bot.store import rows


def ticket_from_row(row: asyncpg.Record) -> Ticket:
    return rows.ticket_from_row(row, tags=row["tags"])


#: the class of the transaction-scoped advisory locks a writing unit takes on a customer (key: the customer)
CUSTOMER_LOCK = 0x7D_0002


def locking(writing: bool) -> str:
    """The clause a writing unit adds to a read of rows it will change (nothing for a reading unit)."""
    return " FOR UPDATE" if writing else ""


class Args:
    """The arguments of a statement built piece by piece: `add` keeps a value and returns its placeholder."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


#: Active tickets, written exactly as the condition of the partial indexes over them (`ix_tickets_open_rank`,
#: `ix_tickets_waiting`, `ix_tickets_open_load`): the planner uses a partial index only when it can prove the
#: query implies its condition, and a bound `status = ANY($1)` cannot.
OPEN = "status NOT IN ('resolved', 'closed')"
#: the assignee's platform: stored since schema 15 (an e-mail ticket's agent is on chat); before, the customer's
ASSIGNEE_PLATFORM = "coalesce(assignee_platform, customer_platform)"
#: The queue's order: most urgent first, then oldest first (`priority_rank` is a generated column).
QUEUE_ORDER = "priority_rank, created_at, number"
_ACTIVE = frozenset(s for s in Status if s.is_active)


def priority_rank(priority: Priority) -> int:
    """The `priority_rank` column's value: 0 for urgent … 3 for low, so the most urgent sorts first."""
    return len(Priority) - 1 - priority.rank


def status_filter(statuses: Iterable[Status], args: Args, *, by_person: bool = False) -> str:
    """A `WHERE` term for tickets in `statuses` (see `bot.store.sqlite.tickets.status_filter`): the active set
    is written as `OPEN` so the open-queue index serves it, unless the query also picks a person."""
    values = [s.value for s in statuses]
    if not by_person and set(values) == {s.value for s in _ACTIVE}:
        return OPEN
    return f"status = ANY({args.add(values)}::text[])"


def priority_filter(priorities: Iterable[Priority], args: Args, *, by_rank: bool) -> str:
    """A `WHERE` term for tickets of `priorities`: by rank when the query reads a rank index, else by value."""
    if by_rank:
        return f"priority_rank = ANY({args.add(sorted({priority_rank(p) for p in priorities}))}::smallint[])"
    return f"priority = ANY({args.add([p.value for p in priorities])}::text[])"


def list_sql(query: TicketQuery) -> tuple[str, list[Any]]:
    """The statement `list_tickets` runs."""
    where: list[str] = []
    args = Args()
    by_rank = True
    if query.statuses:
        term = status_filter(query.statuses, args, by_person=bool(query.customer or query.assignee or query.unassigned))
        where.append(term)
        by_rank = term == OPEN
    if query.priorities:
        where.append(priority_filter(query.priorities, args, by_rank=by_rank))
    if query.customer:
        where.append(
            f"customer_platform={args.add(query.customer.platform)} AND customer_id={args.add(query.customer.id)}"
        )
    if query.assignee:
        where.append(
            f"{ASSIGNEE_PLATFORM}={args.add(query.assignee.platform)} AND assignee_id={args.add(query.assignee.id)}"
        )
    if query.unassigned:
        where.append("assignee_id IS NULL")
    sql = "SELECT * FROM tickets"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {QUEUE_ORDER} LIMIT {args.add(query.limit)}"
    return sql, args.values


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
        number = await self.conn.fetchval(
            """INSERT INTO tickets (subject, description, customer_platform, customer_id, customer_name,
                   origin_channel, origin_thread, priority, category, status, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'new', $10, $10) RETURNING number""",
            subject,
            description,
            customer.platform,
            customer.id,
            customer.display,
            origin.channel,
            origin.thread or None,
            priority.value,
            category,
            at,
        )
        return Ticket(
            number=number,
            subject=subject,
            description=description,
            customer=customer,
            origin=origin,
            priority=priority,
            category=category,
            created_at=at,
            updated_at=at,
        )

    async def save_ticket(self, ticket: Ticket) -> None:
        """Write back every field a command may change."""
        t = ticket
        await self.conn.execute(
            """UPDATE tickets SET origin_thread=$1, subject=$2, priority=$3, category=$4, tags=$5, status=$6,
                   assignee_id=$7, assignee_name=$8, updated_at=$9, first_response_at=$10, resolved_at=$11,
                   closed_at=$12, resolution_summary=$13, resolved_by_kb=$14, card_channel=$15, card_message=$16,
                   assignee_platform=$18
               WHERE number=$17""",
            t.origin.thread or None,
            t.subject,
            t.priority.value,
            t.category,
            list(t.tags),
            t.status.value,
            t.assignee.id if t.assignee else None,
            t.assignee.display if t.assignee else None,
            t.updated_at,
            t.first_response_at,
            t.resolved_at,
            t.closed_at,
            t.resolution_summary,
            t.resolved_by_kb,
            t.card.channel if t.card else None,
            t.card.id if t.card else None,
            t.number,
            t.assignee.platform if t.assignee else None,
        )

    async def save_card(self, number: int, card: MessageRef) -> None:
        await self.conn.execute(
            "UPDATE tickets SET card_channel=$1, card_message=$2 WHERE number=$3", card.channel, card.id, number
        )

    async def set_origin_thread(self, number: int, thread: str) -> None:
        await self.conn.execute("UPDATE tickets SET origin_thread=$1 WHERE number=$2", thread, number)

    async def get_ticket(self, number: int) -> Ticket | None:
        row = await self.conn.fetchrow("SELECT * FROM tickets WHERE number=$1" + locking(self.writing), number)
        return ticket_from_row(row) if row else None

    async def ticket_for_thread(self, thread: ThreadRef) -> tuple[Ticket, bool] | None:
        """The ticket whose customer thread (False) or queue-card thread (True) this is."""
        row = await self.conn.fetchrow(
            "SELECT * FROM tickets WHERE customer_platform=$1 AND origin_channel=$2 AND origin_thread=$3"
            + locking(self.writing),
            thread.platform,
            thread.channel,
            thread.thread,
        )
        if row:
            return ticket_from_row(row), False
        # a card lives on the agents' platform, which is not the customer's for e-mail tickets
        row = await self.conn.fetchrow(
            "SELECT * FROM tickets WHERE card_channel=$1 AND card_message=$2 ORDER BY customer_platform<>$3 LIMIT 1"
            + locking(self.writing),
            thread.channel,
            thread.thread,
            thread.platform,
        )
        return (ticket_from_row(row), True) if row else None

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Queue order: most urgent first, then oldest first. Never locks: a list is read, not changed."""
        sql, args = list_sql(query)
        return [ticket_from_row(row) for row in await self.conn.fetch(sql, *args)]

    async def count_active_for_customer(self, customer: UserRef) -> int:
        """In a writing unit, intake counts before it opens a ticket (the per-customer limit): there is no row
        to lock yet, so the unit takes a lock on the customer instead, held until it commits. Two messages
        from one customer handled at once — by two processes — then cannot both pass the limit, as they
        cannot on SQLite, whose units run one at a time."""
        if self.writing:
            await self.conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", CUSTOMER_LOCK, customer.key)
        count = await self.conn.fetchval(
            f"SELECT count(*) FROM tickets WHERE customer_platform=$1 AND customer_id=$2 AND {OPEN}",
            customer.platform,
            customer.id,
        )
        return int(count)


class PgHistory:
    """Implements `bot.repositories.HistoryRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def add_event(self, ticket: int, at: datetime, actor: UserRef, kind: str, **detail: Any) -> None:
        await self.conn.execute(
            "INSERT INTO ticket_events (ticket, at, actor_platform, actor_id, actor_name, kind, detail)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            ticket,
            at,
            actor.platform,
            actor.id,
            actor.display,
            kind,
            detail,
        )

    async def events_for(self, ticket: int) -> list[Event]:
        """`detail` comes back as the same dict, though `jsonb` keeps its keys in its own order."""
        rows = await self.conn.fetch("SELECT * FROM ticket_events WHERE ticket=$1 ORDER BY id", ticket)
        return [
            Event(
                ticket=r["ticket"],
                at=r["at"],
                actor=UserRef(platform=r["actor_platform"], id=r["actor_id"], name=r["actor_name"]),
                kind=r["kind"],
                detail=r["detail"],
            )
            for r in rows
        ]


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
        message_id: int = await self.conn.fetchval(
            "INSERT INTO ticket_messages (ticket, at, author_platform, author_id, author_name, author_role,"
            " visibility, body, platform_message_id, delivery) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " RETURNING id",
            ticket,
            at,
            author.platform,
            author.id,
            author.display,
            role,
            visibility,
            body,
            platform_message_id,
            delivery,
        )
        return message_id

    async def messages_for(self, ticket: int, *, public_only: bool = False) -> list[LoggedMessage]:
        sql = "SELECT * FROM ticket_messages WHERE ticket=$1"
        if public_only:
            sql += " AND visibility='public'"
        rows = await self.conn.fetch(sql + " ORDER BY id", ticket)
        return [
            LoggedMessage(
                id=r["id"],
                ticket=r["ticket"],
                at=r["at"],
                author=UserRef(platform=r["author_platform"], id=r["author_id"], name=r["author_name"]),
                author_role=r["author_role"],
                visibility=r["visibility"],
                body=r["body"],
                delivery=r["delivery"],
            )
            for r in rows
        ]


class PgPeople:
    """Implements `bot.repositories.PeopleRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def remember_person(self, user: UserRef, at: datetime) -> None:
        if not user.name:
            return
        await self.conn.execute(
            "INSERT INTO people (platform, id, name, last_seen) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (platform, id) DO UPDATE SET name=excluded.name, last_seen=excluded.last_seen",
            user.platform,
            user.id,
            user.name,
            at,
        )

    async def find_person(self, platform: str, token: str) -> UserRef | None:
        """A person by id, or by display name (case-insensitive), among people seen on `platform`. Among
        namesakes the lowest id wins (byte order, as SQLite's primary-key scan returns them)."""
        row = await self.conn.fetchrow(
            "SELECT platform, id, name FROM people WHERE platform=$1 AND (id=$2 OR lower(name)=lower($2))"
            ' ORDER BY id=$2 DESC, id COLLATE "C" LIMIT 1',
            platform,
            token,
        )
        return UserRef(platform=row["platform"], id=row["id"], name=row["name"]) if row else None
