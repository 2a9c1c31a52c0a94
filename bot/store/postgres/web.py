"""The dashboard's rows: one-time sign-in links, server-side sessions, and the filtered queue page.

Text shown in menus sorts by code point (`COLLATE "C"`), as SQLite's text order does, whatever the database's
collation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bot.domain.refs import UserRef
from bot.domain.ticket import Ticket
from bot.records import COUNT_CAP, LinkRow, QueueFilter, SessionRow
from bot.store.postgres.tickets import OPEN, QUEUE_ORDER, Args, priority_filter, status_filter, ticket_from_row

_BIGINT_MAX = 2**63 - 1


# --- sign-in links -------------------------------------------------------------------------------------------


def _link(row: asyncpg.Record) -> LinkRow:
    user = UserRef(platform=row["user_platform"], id=row["user_id"], name=row["user_name"])
    return LinkRow(row["id"], user, row["created_at"], row["expires_at"], row["used_at"])


# --- sessions ------------------------------------------------------------------------------------------------


def _session(row: asyncpg.Record) -> SessionRow:
    return SessionRow(
        token_hash=row["token_hash"],
        user=UserRef(platform=row["user_platform"], id=row["user_id"], name=row["user_name"]),
        csrf=row["csrf"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        user_agent=row["user_agent"],
    )


def _count(status: str) -> int:
    """The row count of a command status such as `UPDATE 3`."""
    return int(status.rsplit(" ", 1)[-1])


# --- the queue page ------------------------------------------------------------------------------------------

_ORDER_BY: dict[str, str] = {
    "urgent": QUEUE_ORDER,  # the chat queue's order, read off `ix_tickets_open_rank` / `ix_tickets_rank`
    "oldest": "created_at, number",
    "newest": "created_at DESC, number DESC",
    "updated": "updated_at DESC, number DESC",
}

_ALERTED = "EXISTS (SELECT 1 FROM sla_alerts a WHERE a.ticket = tickets.number AND a.level = '{level}')"


def _where(f: QueueFilter, args: Args) -> str:
    where: list[str] = []
    by_rank = True
    if f.statuses:
        term = status_filter(f.statuses, args, by_person=bool(f.assignee or f.unassigned))
        where.append(term)
        by_rank = term == OPEN
    if f.priorities:
        where.append(priority_filter(f.priorities, args, by_rank=by_rank))
    if f.category:
        where.append(f"category = {args.add(f.category)}")
    if f.assignee:
        where.append(f"assignee_id = {args.add(f.assignee)}")
    if f.unassigned:
        where.append("assignee_id IS NULL")
    if f.tag:
        where.append(f"tags ? {args.add(f.tag)}")
    # each open ticket's alerts by primary key, not a list of every alerted ticket in history
    if f.sla == "breached":
        where.append(_ALERTED.format(level="breach"))
        where.append(OPEN)
    elif f.sla == "at_risk":
        where.append(_ALERTED.format(level="warning"))
        where.append("NOT " + _ALERTED.format(level="breach"))
        where.append(OPEN)
    if f.text:
        needle = f.text.strip()
        if needle.lstrip("#").isdigit():
            number = int(needle.lstrip("#"))
            # a number past bigint names no ticket (asyncpg would refuse to send it)
            where.append(f"number = {args.add(number)}" if number <= _BIGINT_MAX else "false")
        else:
            # a substring, with `%`, `_` and `\` taken literally. ILIKE folds case beyond ASCII too (SQLite's
            # LIKE folds ASCII letters only), so "ÉCHEC" finds "échec" here and not there
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            mark = args.add(f"%{escaped}%")
            where.append(
                f"(subject ILIKE {mark} ESCAPE '\\' OR description ILIKE {mark} ESCAPE '\\'"
                f" OR customer_name ILIKE {mark} ESCAPE '\\')"
            )
    return (" WHERE " + " AND ".join(where)) if where else ""


def page_sql(f: QueueFilter) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """The statements `queue_page` runs: the page, and the capped count."""
    args = Args()
    where = _where(f, args)
    count = f"SELECT count(*) FROM (SELECT 1 FROM tickets{where} LIMIT {COUNT_CAP + 1}) AS capped", list(args.values)
    order = _ORDER_BY.get(f.sort, _ORDER_BY["urgent"])
    offset = (max(1, f.page) - 1) * f.per_page
    page = f"SELECT * FROM tickets{where} ORDER BY {order} LIMIT {args.add(f.per_page)} OFFSET {args.add(offset)}"
    return (page, args.values), count


class PgWeb:
    """Implements `bot.repositories.WebRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def insert_link(self, link_id: str, user: UserRef, at: datetime, expires_at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO web_links (id, user_platform, user_id, user_name, created_at, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            link_id,
            user.platform,
            user.id,
            user.display,
            at,
            expires_at,
        )
        # expired links are of no use to anyone: keep the table small
        await self.conn.execute("DELETE FROM web_links WHERE expires_at < $1", at)

    async def get_link(self, link_id: str) -> LinkRow | None:
        row = await self.conn.fetchrow("SELECT * FROM web_links WHERE id = $1", link_id)
        return _link(row) if row else None

    async def use_link(self, link_id: str, at: datetime) -> bool:
        """Mark the link used; False when it already was (two tabs racing: exactly one wins — the second
        `UPDATE` waits for the first to commit, then finds `used_at` set)."""
        status = await self.conn.execute(
            "UPDATE web_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL", at, link_id
        )
        return _count(status) == 1

    async def insert_session(
        self, token_hash: str, user: UserRef, csrf: str, at: datetime, expires_at: datetime, user_agent: str
    ) -> None:
        await self.conn.execute(
            "INSERT INTO web_sessions (token_hash, user_platform, user_id, user_name, csrf, created_at, expires_at,"
            " user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            token_hash,
            user.platform,
            user.id,
            user.display,
            csrf,
            at,
            expires_at,
            user_agent[:200],
        )
        await self.conn.execute("DELETE FROM web_sessions WHERE expires_at < $1", at)

    async def get_session(self, token_hash: str) -> SessionRow | None:
        row = await self.conn.fetchrow("SELECT * FROM web_sessions WHERE token_hash = $1", token_hash)
        return _session(row) if row else None

    async def sessions(self, user: UserRef | None = None) -> list[SessionRow]:
        if user is None:
            rows = await self.conn.fetch("SELECT * FROM web_sessions ORDER BY created_at, token_hash")
        else:
            rows = await self.conn.fetch(
                "SELECT * FROM web_sessions WHERE user_platform = $1 AND user_id = $2 ORDER BY created_at, token_hash",
                user.platform,
                user.id,
            )
        return [_session(r) for r in rows]

    async def revoke(self, at: datetime, *, token_hash: str | None = None, user: UserRef | None = None) -> int:
        """Revoke one session, every session of one person, or (neither given) every session."""
        args = Args()
        sql = f"UPDATE web_sessions SET revoked_at = {args.add(at)} WHERE revoked_at IS NULL"
        if token_hash is not None:
            sql += f" AND token_hash = {args.add(token_hash)}"
        if user is not None:
            sql += f" AND user_platform = {args.add(user.platform)} AND user_id = {args.add(user.id)}"
        return _count(await self.conn.execute(sql, *args.values))

    async def queue_page(self, f: QueueFilter) -> tuple[list[Ticket], int]:
        """One page of the filtered queue and the number of matching tickets."""
        (sql, args), (count_sql, count_args) = page_sql(f)
        rows = await self.conn.fetch(sql, *args)
        total = await self.conn.fetchval(count_sql, *count_args)
        return [ticket_from_row(r) for r in rows], int(total or 0)

    async def sla_flags(self, numbers: Sequence[int]) -> dict[int, str]:
        """`breached` or `at_risk` per ticket among `numbers` (open tickets only matter to the caller)."""
        if not numbers:
            return {}
        rows = await self.conn.fetch(
            "SELECT ticket, bool_or(level = 'breach') FROM sla_alerts WHERE ticket = ANY($1::bigint[]) GROUP BY ticket",
            list(numbers),
        )
        return {int(r[0]): ("breached" if r[1] else "at_risk") for r in rows}

    async def change_stamp(self) -> str:
        """Moves whenever any ticket changes (every change writes an event or a message); O(1) on both keys."""
        row = await self.conn.fetchrow(
            "SELECT (SELECT max(id) FROM ticket_events), (SELECT max(id) FROM ticket_messages),"
            " (SELECT count(*) FROM outbox WHERE state = 'pending')"
        )
        return "-".join(str(v or 0) for v in row) if row else "0"

    async def choices(self) -> tuple[list[str], list[tuple[str, str]], list[str]]:
        """Categories, assignees (id, name) and tags that occur on open tickets, for the filter menus (read
        through the open-queue index: the closed history is never scanned)."""
        categories = [
            r[0]
            for r in await self.conn.fetch(
                f'SELECT DISTINCT category COLLATE "C" FROM tickets WHERE {OPEN} ORDER BY 1 LIMIT 200'
            )
        ]
        people = [
            (r[0], r[1])
            for r in await self.conn.fetch(
                f'SELECT assignee_id, max(assignee_name COLLATE "C") FROM tickets'
                f" WHERE assignee_id IS NOT NULL AND {OPEN} GROUP BY assignee_id ORDER BY 2, 1 LIMIT 200"
            )
        ]
        tags = [
            r[0]
            for r in await self.conn.fetch(
                'SELECT DISTINCT j COLLATE "C" FROM tickets, jsonb_array_elements_text(tickets.tags) AS j'
                f" WHERE {OPEN} ORDER BY 1 LIMIT 200"
            )
        ]
        return categories, people, tags
