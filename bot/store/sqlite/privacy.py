"""Customer data: everything stored about one person (for an export), its erasure, and the retention purge.

Erasure replaces texts and names with `ERASED` and keeps numbers, ids, timestamps, states and ratings, so
reports and metrics still add up. Rows are updated in place, never deleted: ticket numbers stay stable.
With `secure_delete` on, the old text is overwritten; the caller then runs `scrub_free_pages` so it is not
left in the WAL either.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from bot.records import ERASED, Erasure
from bot.store.sqlite.connection import fetch_all, fetch_one, to_db

_ERASED_POST = json.dumps({"text": ERASED})
#: detail keys of history events that hold words someone wrote (reasons, summaries, comments)
_TEXT_DETAIL_KEYS = ("reason", "summary", "comment", "text", "note", "body")


def _rows(rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in r.keys()} for r in rows]  # noqa: SIM118 (sqlite3.Row is not a Mapping)


def _scrub_detail(detail: str) -> str | None:
    data = json.loads(detail)
    changed = False
    for key in _TEXT_DETAIL_KEYS:
        if isinstance(data.get(key), str) and data[key] != ERASED:
            data[key] = ERASED
            changed = True
    return json.dumps(data) if changed else None


class SqlitePrivacy:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def person_data(self, platform: str, user_id: str) -> dict[str, Any]:
        """Everything stored about `platform:user_id`: their profile, their tickets with history, messages
        and rating, what they wrote in other tickets, and the KB wordings learned from their tickets."""
        person = fetch_one(
            self.conn, "SELECT name, last_seen FROM people WHERE platform=? AND id=?", (platform, user_id)
        )
        tickets = fetch_all(
            self.conn,
            "SELECT * FROM tickets WHERE customer_platform=? AND customer_id=? ORDER BY number",
            (platform, user_id),
        )
        numbers = [int(t["number"]) for t in tickets]
        out_tickets = []
        for t in tickets:
            number = int(t["number"])
            events = fetch_all(
                self.conn,
                "SELECT at, actor_platform, actor_id, actor_name, kind, detail FROM ticket_events"
                " WHERE ticket=? ORDER BY id",
                (number,),
            )
            messages = fetch_all(
                self.conn,
                "SELECT at, author_platform, author_id, author_name, author_role, visibility, body, delivery"
                " FROM ticket_messages WHERE ticket=? ORDER BY id",
                (number,),
            )
            rating = fetch_one(
                self.conn, "SELECT asked_at, rating, comment, rated_at FROM csat WHERE ticket=?", (number,)
            )
            # every stored column but `priority_rank`, which SQLite computes from `priority` (schema 13)
            ticket = {k: t[k] for k in t.keys() if k != "priority_rank"}  # noqa: SIM118
            ticket["tags"] = json.loads(ticket["tags"])
            ticket["history"] = [{**e, "detail": json.loads(e["detail"])} for e in _rows(events)]
            ticket["messages"] = _rows(messages)
            ticket["rating"] = dict(rating) if rating else None
            out_tickets.append(ticket)
        marks = ",".join("?" * len(numbers))
        elsewhere = fetch_all(
            self.conn,
            "SELECT ticket, at, author_role, visibility, body FROM ticket_messages"
            " WHERE author_platform=? AND author_id=?"
            + (f" AND ticket NOT IN ({marks})" if numbers else "")
            + " ORDER BY id",
            (platform, user_id, *numbers),
        )
        learned = (
            fetch_all(
                self.conn,
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

    async def erase_person(self, platform: str, user_id: str, *, apply: bool) -> Erasure:
        """Erase what `platform:user_id` wrote and their name. With `apply=False` only counts (a dry run)."""
        who = (platform, user_id)
        found = Erasure()
        found.tickets = [
            int(r[0])
            for r in fetch_all(
                self.conn, "SELECT number FROM tickets WHERE customer_platform=? AND customer_id=? ORDER BY number", who
            )
        ]
        numbers = found.tickets
        marks = ",".join("?" * len(numbers)) or "NULL"
        mine = "author_platform=? AND author_id=?"
        written_in = fetch_all(
            self.conn, f"SELECT DISTINCT ticket FROM ticket_messages WHERE {mine} ORDER BY ticket", who
        )
        found.other_tickets = [int(r[0]) for r in written_in if int(r[0]) not in numbers]
        found.messages = await self._count(
            f"SELECT COUNT(*) FROM ticket_messages WHERE {mine} AND body != ?", (*who, ERASED)
        )
        found.names = await self._count(
            "SELECT (SELECT COUNT(*) FROM people WHERE platform=? AND id=? AND name != ?)"
            " + (SELECT COUNT(*) FROM tickets WHERE customer_platform=? AND customer_id=? AND customer_name != ?)"
            f" + (SELECT COUNT(*) FROM ticket_messages WHERE {mine} AND author_name != ?)"
            " + (SELECT COUNT(*) FROM ticket_events WHERE actor_platform=? AND actor_id=? AND actor_name != ?)",
            (*who, ERASED) * 4,
        )
        events = fetch_all(
            self.conn,
            "SELECT id, detail FROM ticket_events WHERE actor_platform=? AND actor_id=? AND detail != '{}'",
            who,
        )
        scrubbed = {int(e["id"]): _scrub_detail(e["detail"]) for e in events}
        scrubbed = {k: v for k, v in scrubbed.items() if v is not None}
        found.history_texts = len(scrubbed)
        found.learned_wordings = await self._count(
            f"SELECT COUNT(*) FROM kb_learned WHERE ticket IN ({marks})", numbers
        )
        found.ratings_comments = await self._count(
            f"SELECT COUNT(*) FROM csat WHERE ticket IN ({marks}) AND comment IS NOT NULL AND comment != ?",
            (*numbers, ERASED),
        )
        found.posts = await self._count(
            f"SELECT COUNT(*) FROM outbox WHERE ticket IN ({marks}) AND state != 'pending' AND payload != ?",
            (*numbers, _ERASED_POST),
        )
        names = [
            str(r[0])
            for r in fetch_all(
                self.conn,
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
            self.conn.execute(
                f"UPDATE ticket_messages SET body=replace(body, ?, ?) WHERE ticket IN ({marks}) AND instr(body, ?) > 0",
                (name, ERASED, *numbers, name),
            )
        self.conn.execute(f"UPDATE ticket_messages SET body=?, author_name=? WHERE {mine}", (ERASED, ERASED, *who))
        self.conn.execute("UPDATE people SET name=? WHERE platform=? AND id=?", (ERASED, *who))
        self.conn.execute("UPDATE ticket_events SET actor_name=? WHERE actor_platform=? AND actor_id=?", (ERASED, *who))
        for event_id, detail in scrubbed.items():
            self.conn.execute("UPDATE ticket_events SET detail=? WHERE id=?", (detail, event_id))
        if numbers:
            self.conn.execute(
                f"UPDATE tickets SET customer_name=?, subject=?, description=? WHERE number IN ({marks})",
                (ERASED, ERASED, ERASED, *numbers),
            )
            self.conn.execute(
                f"UPDATE csat SET comment=? WHERE ticket IN ({marks}) AND comment IS NOT NULL", (ERASED, *numbers)
            )
            self.conn.execute(f"DELETE FROM kb_learned WHERE ticket IN ({marks})", numbers)
            await self._erase_incident_texts(numbers)
            # posts already sent (cards and replies quoting them); pending ones are still sent, then kept as sent
            self.conn.execute(
                f"UPDATE outbox SET payload=? WHERE ticket IN ({marks}) AND state != 'pending'",
                (_ERASED_POST, *numbers),
            )
            if found.learned_wordings:
                self.conn.execute("UPDATE kb_revision SET value = value + 1 WHERE id = 1")  # running bots reload
            self._rewrite_search_index()
        return found

    async def purge_closed(self, closed_before: datetime) -> list[int]:
        """Retention: erase message texts (and subject, description, rating comment, sent posts) of tickets
        closed before `closed_before`. Returns the tickets purged now (already purged ones are skipped)."""
        numbers = [
            int(r[0])
            for r in fetch_all(
                self.conn,
                "SELECT number FROM tickets WHERE status='closed' AND"
                " closed_at < ? AND description != ? ORDER BY number",
                (to_db(closed_before), ERASED),
            )
        ]
        if not numbers:
            return []
        marks = ",".join("?" * len(numbers))
        self.conn.execute(f"UPDATE ticket_messages SET body=? WHERE ticket IN ({marks})", (ERASED, *numbers))
        self.conn.execute(
            f"UPDATE tickets SET subject=?, description=?, resolution_summary=CASE WHEN resolution_summary IS NULL"
            f" THEN NULL ELSE ? END WHERE number IN ({marks})",
            (ERASED, ERASED, ERASED, *numbers),
        )
        self.conn.execute(
            f"UPDATE csat SET comment=? WHERE ticket IN ({marks}) AND comment IS NOT NULL", (ERASED, *numbers)
        )
        self.conn.execute(
            f"UPDATE outbox SET payload=? WHERE ticket IN ({marks}) AND state != 'pending'", (_ERASED_POST, *numbers)
        )
        await self._erase_incident_texts(numbers)
        self._rewrite_search_index()
        events = fetch_all(self.conn, f"SELECT id, detail FROM ticket_events WHERE ticket IN ({marks})", numbers)
        for e in events:
            detail = _scrub_detail(e["detail"])
            if detail is not None:
                self.conn.execute("UPDATE ticket_events SET detail=? WHERE id=?", (detail, e["id"]))
        return numbers

    def _rewrite_search_index(self) -> None:
        """The search index (`tickets_fts`, schema 16) drops erased text by adding deletions; the old entries
        stay in its older segments until they are merged — and the trigrams and their positions spell the
        text. `optimize` merges every segment into one now (0.6–0.9 s at 100,000 tickets), and secure_delete
        zeroes the pages the old ones leave."""
        self.conn.execute("INSERT INTO tickets_fts (tickets_fts) VALUES ('optimize')")

    async def _erase_incident_texts(self, numbers: list[int]) -> None:
        """Incident detection keeps each report's text (and unlinked wordings as negative examples)."""
        marks = ",".join("?" * len(numbers))
        self.conn.execute(f"UPDATE incident_reports SET text=? WHERE ticket IN ({marks})", (ERASED, *numbers))
        self.conn.execute(f"UPDATE incident_negatives SET text=? WHERE ticket IN ({marks})", (ERASED, *numbers))

    async def _count(self, sql: str, params: tuple[Any, ...] | list[Any]) -> int:
        row = fetch_one(self.conn, sql, params)
        return int(row[0]) if row and row[0] is not None else 0
