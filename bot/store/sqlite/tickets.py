"""Ticket rows, their history (events), message log, idempotent intake and the people we have seen."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.domain.refs import MessageRef, ThreadRef, UserRef
from bot.domain.ticket import Priority, Status, Ticket
from bot.records import Event, LoggedMessage, TicketQuery
from bot.store.rows import ticket_from_row
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, to_db


def _ticket(row: sqlite3.Row) -> Ticket:
    return ticket_from_row(row, tags=json.loads(row["tags"]), moment=from_db)


def _opt(moment: datetime | None) -> str | None:
    return to_db(moment) if moment is not None else None


#: Active tickets, written exactly as the condition of the partial indexes over them (`ix_tickets_open_rank`,
#: `ix_tickets_waiting`, `ix_tickets_open_load`): SQLite uses a partial index only when a query states its
#: condition, and a bound `status IN (?, …)` cannot prove it.
OPEN = "status NOT IN ('resolved', 'closed')"
#: the assignee's platform: stored since schema 15 (an e-mail ticket's agent is on chat); before, the customer's
ASSIGNEE_PLATFORM = "coalesce(assignee_platform, customer_platform)"
#: The queue's order: most urgent first, then oldest first (`priority_rank` is a generated column, schema 13).
QUEUE_ORDER = "priority_rank, created_at, number"
_ACTIVE = frozenset(s for s in Status if s.is_active)


def priority_rank(priority: Priority) -> int:
    """The `priority_rank` column's value: 0 for urgent … 3 for low, so the most urgent sorts first."""
    return len(Priority) - 1 - priority.rank


def status_filter(statuses: Iterable[Status], *, by_person: bool = False) -> tuple[str, list[Any]]:
    """A `WHERE` term for tickets in `statuses`. The active set is written as `OPEN`, so the open-queue index
    serves it in queue order and a page stops at its limit — unless the query also picks a person (customer,
    assignee, unassigned): that person's index has `status` among its columns and seeks each status by value,
    reading only that person's active tickets rather than walking the whole open queue."""
    values = [s.value for s in statuses]
    if not by_person and set(values) == {s.value for s in _ACTIVE}:
        return OPEN, []
    return f"status IN ({','.join('?' * len(values))})", values


def priority_filter(priorities: Iterable[Priority], *, by_rank: bool) -> tuple[str, list[Any]]:
    """A `WHERE` term for tickets of `priorities`. `by_rank` when the query reads a rank index (the open
    queue, or every ticket): they lead with the rank, so the filter is a range of the index rather than a
    test of each row read. Otherwise by value: beside a status bound by value, `ix_tickets_queue` seeks
    each (status, priority) pair."""
    if by_rank:
        ranks = sorted({priority_rank(p) for p in priorities})
        return f"priority_rank IN ({','.join('?' * len(ranks))})", ranks
    values = [p.value for p in priorities]
    return f"priority IN ({','.join('?' * len(values))})", values


# --- history ---------------------------------------------------------------------------------------------


# --- message log -------------------------------------------------------------------------------------------


# --- idempotent intake and people --------------------------------------------------------------------------


def list_sql(query: TicketQuery) -> tuple[str, list[Any]]:
    """The statement `list_tickets` runs (bench/queries.py times it)."""
    where: list[str] = []
    args: list[Any] = []
    by_rank = True
    if query.statuses:
        term, values = status_filter(
            query.statuses, by_person=bool(query.customer or query.assignee or query.unassigned)
        )
        where.append(term)
        args.extend(values)
        by_rank = term == OPEN
    if query.priorities:
        term, values = priority_filter(query.priorities, by_rank=by_rank)
        where.append(term)
        args.extend(values)
    if query.customer:
        where.append("customer_platform=? AND customer_id=?")
        args.extend((query.customer.platform, query.customer.id))
    if query.assignee:
        where.append(f"{ASSIGNEE_PLATFORM}=? AND assignee_id=?")
        args.extend((query.assignee.platform, query.assignee.id))
    if query.unassigned:
        where.append("assignee_id IS NULL")
    sql = "SELECT * FROM tickets"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {QUEUE_ORDER} LIMIT ?"
    args.append(query.limit)
    return sql, args


class SqliteTickets:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

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
        now = to_db(at)
        cur = self.conn.execute(
            """INSERT INTO tickets (subject, description, customer_platform, customer_id, customer_name,
                   origin_channel, origin_thread, priority, category, status, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)""",
            (
                subject,
                description,
                customer.platform,
                customer.id,
                customer.display,
                origin.channel,
                origin.thread or None,
                priority.value,
                category,
                now,
                now,
            ),
        )
        assert cur.lastrowid is not None
        return Ticket(
            number=cur.lastrowid,
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
        self.conn.execute(
            """UPDATE tickets SET origin_thread=?, subject=?, priority=?, category=?, tags=?, status=?,
                   assignee_id=?, assignee_name=?, assignee_platform=?, updated_at=?, first_response_at=?,
                   resolved_at=?, closed_at=?, resolution_summary=?, resolved_by_kb=?, card_channel=?, card_message=?
               WHERE number=?""",
            (
                t.origin.thread or None,
                t.subject,
                t.priority.value,
                t.category,
                json.dumps(list(t.tags)),
                t.status.value,
                t.assignee.id if t.assignee else None,
                t.assignee.display if t.assignee else None,
                t.assignee.platform if t.assignee else None,
                to_db(t.updated_at),
                _opt(t.first_response_at),
                _opt(t.resolved_at),
                _opt(t.closed_at),
                t.resolution_summary,
                t.resolved_by_kb,
                t.card.channel if t.card else None,
                t.card.id if t.card else None,
                t.number,
            ),
        )

    async def save_card(self, number: int, card: MessageRef) -> None:
        self.conn.execute(
            "UPDATE tickets SET card_channel=?, card_message=? WHERE number=?", (card.channel, card.id, number)
        )

    async def set_origin_thread(self, number: int, thread: str) -> None:
        self.conn.execute("UPDATE tickets SET origin_thread=? WHERE number=?", (thread, number))

    async def get_ticket(self, number: int) -> Ticket | None:
        row = fetch_one(self.conn, "SELECT * FROM tickets WHERE number=?", (number,))
        return _ticket(row) if row else None

    async def ticket_for_thread(self, thread: ThreadRef) -> tuple[Ticket, bool] | None:
        """The ticket whose customer thread (False) or queue-card thread (True) this is."""
        row = fetch_one(
            self.conn,
            "SELECT * FROM tickets WHERE customer_platform=? AND origin_channel=? AND origin_thread=?",
            (thread.platform, thread.channel, thread.thread),
        )
        if row:
            return _ticket(row), False
        # a card lives on the agents' platform, which is not the customer's for e-mail tickets
        row = fetch_one(
            self.conn,
            "SELECT * FROM tickets WHERE card_channel=? AND card_message=? ORDER BY customer_platform<>? LIMIT 1",
            (thread.channel, thread.thread, thread.platform),
        )
        return (_ticket(row), True) if row else None

    async def list_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Queue order: most urgent first, then oldest first."""
        sql, args = list_sql(query)
        return [_ticket(row) for row in fetch_all(self.conn, sql, args)]

    async def count_active_for_customer(self, customer: UserRef) -> int:
        row = fetch_one(
            self.conn,
            "SELECT COUNT(*) FROM tickets WHERE customer_platform=? AND customer_id=?"
            " AND status NOT IN ('resolved', 'closed')",
            (customer.platform, customer.id),
        )
        return int(row[0]) if row else 0


class SqliteHistory:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def add_event(self, ticket: int, at: datetime, actor: UserRef, kind: str, **detail: Any) -> None:
        self.conn.execute(
            "INSERT INTO ticket_events (ticket, at, actor_platform, actor_id, actor_name, kind, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ticket, to_db(at), actor.platform, actor.id, actor.display, kind, json.dumps(detail)),
        )

    async def events_for(self, ticket: int) -> list[Event]:
        rows = fetch_all(self.conn, "SELECT * FROM ticket_events WHERE ticket=? ORDER BY id", (ticket,))
        return [
            Event(
                ticket=r["ticket"],
                at=from_db(r["at"]),
                actor=UserRef(platform=r["actor_platform"], id=r["actor_id"], name=r["actor_name"]),
                kind=r["kind"],
                detail=json.loads(r["detail"]),
            )
            for r in rows
        ]


class SqliteMessages:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

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
        cur = self.conn.execute(
            "INSERT INTO ticket_messages (ticket, at, author_platform, author_id, author_name, author_role,"
            " visibility, body, platform_message_id, delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ticket,
                to_db(at),
                author.platform,
                author.id,
                author.display,
                role,
                visibility,
                body,
                platform_message_id,
                delivery,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def messages_for(self, ticket: int, *, public_only: bool = False) -> list[LoggedMessage]:
        sql = "SELECT * FROM ticket_messages WHERE ticket=?"
        if public_only:
            sql += " AND visibility='public'"
        rows = fetch_all(self.conn, sql + " ORDER BY id", (ticket,))
        return [
            LoggedMessage(
                id=r["id"],
                ticket=r["ticket"],
                at=from_db(r["at"]),
                author=UserRef(platform=r["author_platform"], id=r["author_id"], name=r["author_name"]),
                author_role=r["author_role"],
                visibility=r["visibility"],
                body=r["body"],
                delivery=r["delivery"],
            )
            for r in rows
        ]


class SqlitePeople:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def remember_person(self, user: UserRef, at: datetime) -> None:
        if not user.name:
            return
        self.conn.execute(
            "INSERT INTO people (platform, id, name, last_seen) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (platform, id) DO UPDATE SET name=excluded.name, last_seen=excluded.last_seen",
            (user.platform, user.id, user.name, to_db(at)),
        )

    async def find_person(self, platform: str, token: str) -> UserRef | None:
        """A person by id, or by display name (case-insensitive), among people seen on `platform`."""
        row = fetch_one(
            self.conn,
            "SELECT platform, id, name FROM people WHERE platform=? AND (id=? OR lower(name)=lower(?))"
            " ORDER BY id=? DESC LIMIT 1",
            (platform, token, token, token),
        )
        return UserRef(platform=row[0], id=row[1], name=row[2]) if row else None
