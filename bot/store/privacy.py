"""Customer data: everything stored about one person (for an export), its erasure, and the retention purge.

Erasure replaces texts and names with `ERASED` and keeps numbers, ids, timestamps, states and ratings, so
reports and metrics still add up. Rows are updated in place, never deleted: ticket numbers stay stable.
With `secure_delete` on, the old text is overwritten; the caller then runs `scrub_free_pages` so it is not
left in the WAL either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiosqlite

from bot.store.db import fetch_all, fetch_one, to_db

Conn = aiosqlite.Connection

ERASED = "[erased]"
_ERASED_POST = json.dumps({"text": ERASED})
#: detail keys of history events that hold words someone wrote (reasons, summaries, comments)
_TEXT_DETAIL_KEYS = ("reason", "summary", "comment", "text", "note", "body")


@dataclass
class Erasure:
    """What an erasure changed (or, in a dry run, would change)."""

    tickets: list[int] = field(default_factory=list)  # theirs
    other_tickets: list[int] = field(default_factory=list)  # others' tickets they wrote in
    messages: int = 0
    names: int = 0
    history_texts: int = 0
    learned_wordings: int = 0
    ratings_comments: int = 0
    posts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "other_tickets": self.other_tickets,
            "messages": self.messages,
            "names": self.names,
            "history_texts": self.history_texts,
            "learned_wordings": self.learned_wordings,
            "rating_comments": self.ratings_comments,
            "posts": self.posts,
        }


def _rows(rows: list[aiosqlite.Row]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in r.keys()} for r in rows]  # noqa: SIM118 (aiosqlite.Row is not a Mapping)


async def person_data(conn: Conn, platform: str, user_id: str) -> dict[str, Any]:
    """Everything stored about `platform:user_id`: their profile, their tickets with history, messages
    and rating, what they wrote in other tickets, and the KB wordings learned from their tickets."""
    person = await fetch_one(conn, "SELECT name, last_seen FROM people WHERE platform=? AND id=?", (platform, user_id))
    tickets = await fetch_all(
        conn, "SELECT * FROM tickets WHERE customer_platform=? AND customer_id=? ORDER BY number", (platform, user_id)
    )
    numbers = [int(t["number"]) for t in tickets]
    out_tickets = []
    for t in tickets:
        number = int(t["number"])
        events = await fetch_all(
            conn,
            "SELECT at, actor_platform, actor_id, actor_name, kind, detail FROM ticket_events"
            " WHERE ticket=? ORDER BY id",
            (number,),
        )
        messages = await fetch_all(
            conn,
            "SELECT at, author_platform, author_id, author_name, author_role, visibility, body, delivery"
            " FROM ticket_messages WHERE ticket=? ORDER BY id",
            (number,),
        )
        rating = await fetch_one(conn, "SELECT asked_at, rating, comment, rated_at FROM csat WHERE ticket=?", (number,))
        ticket = {k: t[k] for k in t.keys()}  # noqa: SIM118
        ticket["tags"] = json.loads(ticket["tags"])
        ticket["history"] = [{**e, "detail": json.loads(e["detail"])} for e in _rows(events)]
        ticket["messages"] = _rows(messages)
        ticket["rating"] = dict(rating) if rating else None
        out_tickets.append(ticket)
    marks = ",".join("?" * len(numbers))
    elsewhere = await fetch_all(
        conn,
        "SELECT ticket, at, author_role, visibility, body FROM ticket_messages WHERE author_platform=? AND author_id=?"
        + (f" AND ticket NOT IN ({marks})" if numbers else "")
        + " ORDER BY id",
        (platform, user_id, *numbers),
    )
    learned = (
        await fetch_all(
            conn,
            f"SELECT article, text, ticket, source, at FROM kb_learned WHERE ticket IN ({marks}) ORDER BY id",
            numbers,
        )
        if numbers
        else []
    )
    return {
        "person": {
            "platform": platform,
            "id": user_id,
            "name": person["name"] if person else None,
            "last_seen": person["last_seen"] if person else None,
        },
        "tickets": out_tickets,
        "messages_in_other_tickets": _rows(elsewhere),
        "learned_kb_wordings": _rows(learned),
    }


async def erase_person(conn: Conn, platform: str, user_id: str, *, apply: bool) -> Erasure:
    """Erase what `platform:user_id` wrote and their name. With `apply=False` only counts (a dry run)."""
    who = (platform, user_id)
    found = Erasure()
    found.tickets = [
        int(r[0])
        for r in await fetch_all(
            conn, "SELECT number FROM tickets WHERE customer_platform=? AND customer_id=? ORDER BY number", who
        )
    ]
    numbers = found.tickets
    marks = ",".join("?" * len(numbers)) or "NULL"
    mine = "author_platform=? AND author_id=?"
    written_in = await fetch_all(conn, f"SELECT DISTINCT ticket FROM ticket_messages WHERE {mine} ORDER BY ticket", who)
    found.other_tickets = [int(r[0]) for r in written_in if int(r[0]) not in numbers]
    found.messages = await _count(
        conn, f"SELECT COUNT(*) FROM ticket_messages WHERE {mine} AND body != ?", (*who, ERASED)
    )
    found.names = await _count(
        conn,
        "SELECT (SELECT COUNT(*) FROM people WHERE platform=? AND id=? AND name != ?)"
        " + (SELECT COUNT(*) FROM tickets WHERE customer_platform=? AND customer_id=? AND customer_name != ?)"
        f" + (SELECT COUNT(*) FROM ticket_messages WHERE {mine} AND author_name != ?)"
        " + (SELECT COUNT(*) FROM ticket_events WHERE actor_platform=? AND actor_id=? AND actor_name != ?)",
        (*who, ERASED) * 4,
    )
    events = await fetch_all(
        conn, "SELECT id, detail FROM ticket_events WHERE actor_platform=? AND actor_id=? AND detail != '{}'", who
    )
    scrubbed = {int(e["id"]): _scrub_detail(e["detail"]) for e in events}
    scrubbed = {k: v for k, v in scrubbed.items() if v is not None}
    found.history_texts = len(scrubbed)
    found.learned_wordings = await _count(conn, f"SELECT COUNT(*) FROM kb_learned WHERE ticket IN ({marks})", numbers)
    found.ratings_comments = await _count(
        conn,
        f"SELECT COUNT(*) FROM csat WHERE ticket IN ({marks}) AND comment IS NOT NULL AND comment != ?",
        (*numbers, ERASED),
    )
    found.posts = await _count(
        conn,
        f"SELECT COUNT(*) FROM outbox WHERE ticket IN ({marks}) AND state != 'pending' AND payload != ?",
        (*numbers, _ERASED_POST),
    )
    names = [
        str(r[0])
        for r in await fetch_all(
            conn,
            "SELECT name FROM people WHERE platform=? AND id=? UNION SELECT customer_name FROM tickets"
            " WHERE customer_platform=? AND customer_id=?",
            (*who, *who),
        )
        if len(str(r[0])) >= 2 and r[0] != ERASED
    ]
    if not apply:
        return found
    # their name inside what others wrote on their tickets ("Thanks, Alice — …", "Bob: Hi Alice")
    for name in names:
        await conn.execute(
            f"UPDATE ticket_messages SET body=replace(body, ?, ?) WHERE ticket IN ({marks}) AND instr(body, ?) > 0",
            (name, ERASED, *numbers, name),
        )
    await conn.execute(f"UPDATE ticket_messages SET body=?, author_name=? WHERE {mine}", (ERASED, ERASED, *who))
    await conn.execute("UPDATE people SET name=? WHERE platform=? AND id=?", (ERASED, *who))
    await conn.execute("UPDATE ticket_events SET actor_name=? WHERE actor_platform=? AND actor_id=?", (ERASED, *who))
    for event_id, detail in scrubbed.items():
        await conn.execute("UPDATE ticket_events SET detail=? WHERE id=?", (detail, event_id))
    if numbers:
        await conn.execute(
            f"UPDATE tickets SET customer_name=?, subject=?, description=? WHERE number IN ({marks})",
            (ERASED, ERASED, ERASED, *numbers),
        )
        await conn.execute(
            f"UPDATE csat SET comment=? WHERE ticket IN ({marks}) AND comment IS NOT NULL", (ERASED, *numbers)
        )
        await conn.execute(f"DELETE FROM kb_learned WHERE ticket IN ({marks})", numbers)
        await _erase_incident_texts(conn, numbers)
        # posts already sent (cards and replies quoting them); pending ones are still sent, then kept as sent
        await conn.execute(
            f"UPDATE outbox SET payload=? WHERE ticket IN ({marks}) AND state != 'pending'", (_ERASED_POST, *numbers)
        )
        if found.learned_wordings:
            await conn.execute("UPDATE kb_revision SET value = value + 1 WHERE id = 1")  # running bots reload
    return found


async def purge_closed(conn: Conn, closed_before: datetime) -> list[int]:
    """Retention: erase message texts (and subject, description, rating comment, sent posts) of tickets
    closed before `closed_before`. Returns the tickets purged now (already purged ones are skipped)."""
    numbers = [
        int(r[0])
        for r in await fetch_all(
            conn,
            "SELECT number FROM tickets WHERE status='closed' AND closed_at < ? AND description != ? ORDER BY number",
            (to_db(closed_before), ERASED),
        )
    ]
    if not numbers:
        return []
    marks = ",".join("?" * len(numbers))
    await conn.execute(f"UPDATE ticket_messages SET body=? WHERE ticket IN ({marks})", (ERASED, *numbers))
    await conn.execute(
        f"UPDATE tickets SET subject=?, description=?, resolution_summary=CASE WHEN resolution_summary IS NULL"
        f" THEN NULL ELSE ? END WHERE number IN ({marks})",
        (ERASED, ERASED, ERASED, *numbers),
    )
    await conn.execute(
        f"UPDATE csat SET comment=? WHERE ticket IN ({marks}) AND comment IS NOT NULL", (ERASED, *numbers)
    )
    await conn.execute(
        f"UPDATE outbox SET payload=? WHERE ticket IN ({marks}) AND state != 'pending'", (_ERASED_POST, *numbers)
    )
    await _erase_incident_texts(conn, numbers)
    events = await fetch_all(conn, f"SELECT id, detail FROM ticket_events WHERE ticket IN ({marks})", numbers)
    for e in events:
        detail = _scrub_detail(e["detail"])
        if detail is not None:
            await conn.execute("UPDATE ticket_events SET detail=? WHERE id=?", (detail, e["id"]))
    return numbers


async def _erase_incident_texts(conn: Conn, numbers: list[int]) -> None:
    """Incident detection keeps each report's text (and unlinked wordings as negative examples)."""
    marks = ",".join("?" * len(numbers))
    await conn.execute(f"UPDATE incident_reports SET text=? WHERE ticket IN ({marks})", (ERASED, *numbers))
    await conn.execute(f"UPDATE incident_negatives SET text=? WHERE ticket IN ({marks})", (ERASED, *numbers))


async def secure_delete(conn: Conn) -> None:
    """From now on this connection overwrites deleted and replaced content with zeros."""
    await conn.execute("PRAGMA secure_delete = ON")


async def scrub_free_pages(conn: Conn) -> None:
    """Copy the zeroed pages into the database file and empty the WAL. Every connection of ours has
    `secure_delete` on (see `Database.open`), so replaced and deleted text is overwritten with zeros rather
    than left in free space; no VACUUM, which would hold up intake while it rewrites the whole file.
    Run outside a transaction; it waits for other connections' reads (busy_timeout)."""
    await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _scrub_detail(detail: str) -> str | None:
    data = json.loads(detail)
    changed = False
    for key in _TEXT_DETAIL_KEYS:
        if isinstance(data.get(key), str) and data[key] != ERASED:
            data[key] = ERASED
            changed = True
    return json.dumps(data) if changed else None


async def _count(conn: Conn, sql: str, params: tuple[Any, ...] | list[Any]) -> int:
    row = await fetch_one(conn, sql, params)
    return int(row[0]) if row and row[0] is not None else 0
