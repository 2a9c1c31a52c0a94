"""The dashboard's rows: one-time sign-in links, server-side sessions, and the filtered queue page.

Kept in one module so it moves as a whole when the store becomes a port.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.refs import UserRef
from bot.domain.ticket import Ticket
from bot.records import COUNT_CAP, LinkRow, QueueFilter, SessionRow
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, opt_from_db, to_db
from bot.store.sqlite.tickets import OPEN, QUEUE_ORDER, _ticket, priority_filter, status_filter

# --- sign-in links -------------------------------------------------------------------------------------------


# --- sessions ------------------------------------------------------------------------------------------------


def _session(row: sqlite3.Row) -> SessionRow:
    return SessionRow(
        token_hash=row["token_hash"],
        user=UserRef(platform=row["user_platform"], id=row["user_id"], name=row["user_name"]),
        csrf=row["csrf"],
        created_at=from_db(row["created_at"]),
        expires_at=from_db(row["expires_at"]),
        revoked_at=opt_from_db(row["revoked_at"]),
        user_agent=row["user_agent"],
    )


# --- the queue page ------------------------------------------------------------------------------------------

_ORDER_BY: dict[str, str] = {
    "urgent": QUEUE_ORDER,  # the chat queue's order, read off `ix_tickets_open_rank` / `ix_tickets_rank`
    "oldest": "created_at, number",
    "newest": "created_at DESC, number DESC",
    "updated": "updated_at DESC, number DESC",
}


"""Matching tickets are counted up to this many ("10,000+"): a broad filter never counts the whole history."""


#: the trigram tokenizer indexes every run of 3 characters: shorter text cannot be looked up in it
TRIGRAM = 3


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: quoted, its quotes doubled, so nothing in it is query syntax. With the
    trigram tokenizer a phrase matches wherever `text` occurs as a substring (case folded)."""
    return '"' + text.replace('"', '""') + '"'


_CANDIDATES = "SELECT count(*) FROM (SELECT 1 FROM tickets_fts WHERE tickets_fts MATCH ? LIMIT ?)"

_ALERTED = "EXISTS (SELECT 1 FROM sla_alerts a WHERE a.ticket = tickets.number AND +a.level = '{level}')"


def indexed_text(f: QueueFilter) -> str | None:
    """The text the trigram index can look up for this filter: None for no search, a ticket number, or text
    shorter than a trigram."""
    needle = (f.text or "").strip()
    if not needle or needle.lstrip("#").isdigit() or len(needle) < TRIGRAM:
        return None
    return needle


def _where(f: QueueFilter, *, by_index: bool) -> tuple[str, list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    by_rank = True
    if f.statuses:
        term, values = status_filter(f.statuses, by_person=bool(f.assignee or f.unassigned))
        where.append(term)
        args += values
        by_rank = term == OPEN
    if f.priorities:
        term, values = priority_filter(f.priorities, by_rank=by_rank)
        where.append(term)
        args += values
    if f.category:
        where.append("category = ?")
        args.append(f.category)
    if f.assignee:
        where.append("assignee_id = ?")
        args.append(f.assignee)
    if f.unassigned:
        where.append("assignee_id IS NULL")
    if f.tag:
        # one primary-key probe of `ticket_tags` (schema 16, kept from `tickets.tags` by triggers) per ticket
        # read, instead of parsing its JSON list: the page still walks the queue's index in order and stops
        where.append("EXISTS (SELECT 1 FROM ticket_tags WHERE tag = ? AND ticket = tickets.number)")
        args.append(f.tag)
    # each open ticket's alerts by primary key, not a list of every alerted ticket in history (`+level`: see
    # AT_RISK in reports.py)
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
            where.append("number = ?")
            args.append(int(needle.lstrip("#")))
        else:
            if by_index and indexed_text(f) is not None:
                # the trigram index (schema 16) hands over the candidates — every ticket holding the text in
                # one of the three columns, case folded beyond ASCII — and LIKE below keeps the match exactly
                # what it was (ASCII folding)
                where.append("number IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)")
                args.append(fts_phrase(needle))
            # otherwise LIKE alone over the tickets the other filters leave (in the page's order, stopping
            # at a page): text shorter than a trigram, or text so common the index would hand over more
            # tickets than a page needs to read
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(
                "(subject LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\' OR customer_name LIKE ? ESCAPE '\\')"
            )
            args += [f"%{escaped}%"] * 3
    return (" WHERE " + " AND ".join(where)) if where else "", args


def page_sql(f: QueueFilter, *, by_index: bool = True) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """The statements `queue_page` runs: the page, and the capped count (bench/queries.py times them).
    `by_index`: the text search starts from the trigram index (`queue_page` decides, see there)."""
    where, args = _where(f, by_index=by_index)
    order = _ORDER_BY.get(f.sort, _ORDER_BY["urgent"])
    offset = (max(1, f.page) - 1) * f.per_page
    page = f"SELECT * FROM tickets{where} ORDER BY {order} LIMIT ? OFFSET ?", [*args, f.per_page, offset]
    return page, (f"SELECT COUNT(*) FROM (SELECT 1 FROM tickets{where} LIMIT {COUNT_CAP + 1})", args)


class SqliteWeb:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def insert_link(self, link_id: str, user: UserRef, at: datetime, expires_at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO web_links (id, user_platform, user_id, user_name, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (link_id, user.platform, user.id, user.display, to_db(at), to_db(expires_at)),
        )
        # expired links are of no use to anyone: keep the table small
        self.conn.execute("DELETE FROM web_links WHERE expires_at < ?", (to_db(at),))

    async def get_link(self, link_id: str) -> LinkRow | None:
        row = fetch_one(self.conn, "SELECT * FROM web_links WHERE id = ?", (link_id,))
        if row is None:
            return None
        user = UserRef(platform=row["user_platform"], id=row["user_id"], name=row["user_name"])
        return LinkRow(
            row["id"], user, from_db(row["created_at"]), from_db(row["expires_at"]), opt_from_db(row["used_at"])
        )

    async def use_link(self, link_id: str, at: datetime) -> bool:
        """Mark the link used; False when it already was (two tabs racing: exactly one wins)."""
        cur = self.conn.execute(
            "UPDATE web_links SET used_at = ? WHERE id = ? AND used_at IS NULL", (to_db(at), link_id)
        )
        return cur.rowcount == 1

    async def insert_session(
        self, token_hash: str, user: UserRef, csrf: str, at: datetime, expires_at: datetime, user_agent: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO web_sessions (token_hash, user_platform, user_id, user_name, csrf, created_at, expires_at,"
            " user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (token_hash, user.platform, user.id, user.display, csrf, to_db(at), to_db(expires_at), user_agent[:200]),
        )
        self.conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (to_db(at),))

    async def get_session(self, token_hash: str) -> SessionRow | None:
        row = fetch_one(self.conn, "SELECT * FROM web_sessions WHERE token_hash = ?", (token_hash,))
        return _session(row) if row else None

    async def sessions(self, user: UserRef | None = None) -> list[SessionRow]:
        if user is None:
            rows = fetch_all(self.conn, "SELECT * FROM web_sessions ORDER BY created_at")
        else:
            rows = fetch_all(
                self.conn,
                "SELECT * FROM web_sessions WHERE user_platform = ? AND user_id = ? ORDER BY created_at",
                (user.platform, user.id),
            )
        return [_session(r) for r in rows]

    async def revoke(self, at: datetime, *, token_hash: str | None = None, user: UserRef | None = None) -> int:
        """Revoke one session, every session of one person, or (neither given) every session."""
        sql = "UPDATE web_sessions SET revoked_at = ? WHERE revoked_at IS NULL"
        args: list[Any] = [to_db(at)]
        if token_hash is not None:
            sql += " AND token_hash = ?"
            args.append(token_hash)
        if user is not None:
            sql += " AND user_platform = ? AND user_id = ?"
            args += [user.platform, user.id]
        cur = self.conn.execute(sql, args)
        return cur.rowcount

    async def queue_page(self, f: QueueFilter) -> tuple[list[Ticket], int]:
        """One page of the filtered queue and the number of matching tickets.

        A text search first counts its candidates in the trigram index (up to `COUNT_CAP`, a quick range of
        it). Up to that many, the query starts from them: a lookup each, then the other filters and the
        order. Beyond it the text is common (at least one ticket in ten on a desk of 100,000): the page walks
        the queue's index in order testing LIKE and finds its 50 early, as the count finds its cap — where
        starting from the index would fetch and sort every candidate."""
        by_index = False
        if (needle := indexed_text(f)) is not None:
            row = fetch_one(self.conn, _CANDIDATES, (fts_phrase(needle), COUNT_CAP + 1))
            by_index = row is not None and int(row[0]) <= COUNT_CAP
        (sql, args), (count_sql, count_args) = page_sql(f, by_index=by_index)
        rows = fetch_all(self.conn, sql, args)
        total = fetch_one(self.conn, count_sql, count_args)
        return [_ticket(r) for r in rows], int(total[0]) if total else 0

    async def sla_flags(self, numbers: Sequence[int]) -> dict[int, str]:
        """`breached` or `at_risk` per ticket among `numbers` (open tickets only matter to the caller)."""
        if not numbers:
            return {}
        rows = fetch_all(
            self.conn,
            f"SELECT ticket, max(level = 'breach') FROM sla_alerts WHERE ticket IN ({','.join('?' * len(numbers))})"
            " GROUP BY ticket",
            list(numbers),
        )
        return {int(r[0]): ("breached" if r[1] else "at_risk") for r in rows}

    async def change_stamp(self) -> str:
        """Moves whenever any ticket changes (every change writes an event or a message); O(1) on both keys."""
        row = fetch_one(
            self.conn,
            "SELECT (SELECT max(id) FROM ticket_events), (SELECT max(id) FROM ticket_messages),"
            " (SELECT count(*) FROM outbox WHERE state = 'pending')",
        )
        return "-".join(str(v or 0) for v in row) if row else "0"

    async def choices(self) -> tuple[list[str], list[tuple[str, str]], list[str]]:
        """Categories, assignees (id, name) and tags that occur on open tickets, for the filter menus (read
        through the open-queue index: the closed history is never scanned)."""
        open_only = OPEN
        categories = [
            r[0]
            for r in fetch_all(
                self.conn, f"SELECT DISTINCT category FROM tickets WHERE {open_only} ORDER BY 1 LIMIT 200"
            )
        ]
        people = [
            (r[0], r[1])
            for r in fetch_all(
                self.conn,
                f"SELECT assignee_id, max(assignee_name) FROM tickets WHERE assignee_id IS NOT NULL AND {open_only}"
                " GROUP BY assignee_id ORDER BY 2 LIMIT 200",
            )
        ]
        tags = [
            r[0]
            for r in fetch_all(
                self.conn,
                "SELECT DISTINCT j.value FROM tickets, json_each(tickets.tags)"
                f" j WHERE {open_only} ORDER BY 1 LIMIT 200",
            )
        ]
        return categories, people, tags
