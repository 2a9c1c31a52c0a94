"""Customer data: everything stored about one person (for an export), its erasure, and the retention purge.

Erasure replaces texts and names with `ERASED` and keeps numbers, ids, timestamps, states and ratings, so
reports and metrics still add up. Rows are updated in place, never deleted: ticket numbers stay stable. The
old row versions are left to VACUUM, which the caller runs (`Store.compact_log`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.records import ERASED, Erasure

_ERASED_POST = {"text": ERASED}
#: detail keys of history events that hold words someone wrote (reasons, summaries, comments)
_TEXT_DETAIL_KEYS = ("reason", "summary", "comment", "text", "note", "body")


def _text(value: Any) -> Any:
    """A value as the export writes it: moments as SQLite stores them (UTC ISO-8601, fixed width, `Z`), so
    both engines export the same JSON."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
    return value


def _rows(rows: Iterable[asyncpg.Record]) -> list[dict[str, Any]]:
    return [{k: _text(v) for k, v in r.items()} for r in rows]


def _scrub_detail(detail: dict[str, Any]) -> dict[str, Any] | None:
    data = dict(detail)
    changed = False
    for key in _TEXT_DETAIL_KEYS:
        if isinstance(data.get(key), str) and data[key] != ERASED:
            data[key] = ERASED
            changed = True
    return data if changed else None


class PgPrivacy:
    """Implements `bot.repositories.PrivacyRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def person_data(self, platform: str, user_id: str) -> dict[str, Any]:
        """Everything stored about `platform:user_id`: their profile, their tickets with history, messages
        and rating, what they wrote in other tickets, and the KB wordings learned from their tickets."""
        person = await self.conn.fetchrow(
            "SELECT name, last_seen FROM people WHERE platform=$1 AND id=$2", platform, user_id
        )
        tickets = await self.conn.fetch(
            "SELECT * FROM tickets WHERE customer_platform=$1 AND customer_id=$2 ORDER BY number", platform, user_id
        )
        numbers = [int(t["number"]) for t in tickets]
        out_tickets = []
        for t in tickets:
            number = int(t["number"])
            events = await self.conn.fetch(
                "SELECT at, actor_platform, actor_id, actor_name, kind, detail FROM ticket_events"
                " WHERE ticket=$1 ORDER BY id",
                number,
            )
            messages = await self.conn.fetch(
                "SELECT at, author_platform, author_id, author_name, author_role, visibility, body, delivery"
                " FROM ticket_messages WHERE ticket=$1 ORDER BY id",
                number,
            )
            rating = await self.conn.fetchrow(
                "SELECT asked_at, rating, comment, rated_at FROM csat WHERE ticket=$1", number
            )
            # every stored column but `priority_rank`, which PostgreSQL computes from `priority`
            ticket = {k: _text(v) for k, v in t.items() if k != "priority_rank"}
            ticket["history"] = _rows(events)
            ticket["messages"] = _rows(messages)
            ticket["rating"] = _rows([rating])[0] if rating else None
            out_tickets.append(ticket)
        elsewhere = await self.conn.fetch(
            "SELECT ticket, at, author_role, visibility, body FROM ticket_messages"
            " WHERE author_platform=$1 AND author_id=$2 AND NOT ticket = ANY($3::bigint[]) ORDER BY id",
            platform,
            user_id,
            numbers,
        )
        learned = await self.conn.fetch(
            "SELECT article, text, ticket, source, at FROM kb_learned WHERE ticket = ANY($1::bigint[]) ORDER BY id",
            numbers,
        )
        return {
            "person": {
                "platform": platform,
                "id": user_id,
                "name": person["name"] if person else None,
                "last_seen": _text(person["last_seen"]) if person else None,
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
            for r in await self.conn.fetch(
                "SELECT number FROM tickets WHERE customer_platform=$1 AND customer_id=$2 ORDER BY number", *who
            )
        ]
        numbers = found.tickets
        mine = "author_platform=$1 AND author_id=$2"
        written_in = await self.conn.fetch(
            f"SELECT DISTINCT ticket FROM ticket_messages WHERE {mine} ORDER BY ticket", *who
        )
        found.other_tickets = [int(r[0]) for r in written_in if int(r[0]) not in numbers]
        found.messages = await self._count(
            f"SELECT COUNT(*) FROM ticket_messages WHERE {mine} AND body != $3", *who, ERASED
        )
        found.names = await self._count(
            "SELECT (SELECT COUNT(*) FROM people WHERE platform=$1 AND id=$2 AND name != $3)"
            " + (SELECT COUNT(*) FROM tickets WHERE customer_platform=$1 AND customer_id=$2 AND customer_name != $3)"
            f" + (SELECT COUNT(*) FROM ticket_messages WHERE {mine} AND author_name != $3)"
            " + (SELECT COUNT(*) FROM ticket_events WHERE actor_platform=$1 AND actor_id=$2 AND actor_name != $3)",
            *who,
            ERASED,
        )
        events = await self.conn.fetch(
            "SELECT id, detail FROM ticket_events WHERE actor_platform=$1 AND actor_id=$2 AND detail != '{}'", *who
        )
        scrubbed = {int(e["id"]): _scrub_detail(e["detail"]) for e in events}
        changed = {k: v for k, v in scrubbed.items() if v is not None}
        found.history_texts = len(changed)
        found.learned_wordings = await self._count(
            "SELECT COUNT(*) FROM kb_learned WHERE ticket = ANY($1::bigint[])", numbers
        )
        found.ratings_comments = await self._count(
            "SELECT COUNT(*) FROM csat WHERE ticket = ANY($1::bigint[]) AND comment IS NOT NULL AND comment != $2",
            numbers,
            ERASED,
        )
        found.posts = await self._count(
            "SELECT COUNT(*) FROM outbox WHERE ticket = ANY($1::bigint[]) AND state != 'pending' AND payload != $2",
            numbers,
            _ERASED_POST,
        )
        # in code-point order, as SQLite's UNION yields them: a name inside another is replaced after it
        names = sorted(
            {
                str(r[0])
                for r in await self.conn.fetch(
                    "SELECT name FROM people WHERE platform=$1 AND id=$2 UNION SELECT customer_name FROM tickets"
                    " WHERE customer_platform=$1 AND customer_id=$2",
                    *who,
                )
                if len(str(r[0])) >= 2 and r[0] != ERASED
            }
        )
        if not apply:
            return found
        # their name inside what others wrote on their tickets ("Thanks, Alice — …", "Bob: Hi Alice")
        for name in names:
            await self.conn.execute(
                "UPDATE ticket_messages SET body=replace(body, $1, $2) WHERE ticket = ANY($3::bigint[])"
                " AND strpos(body, $1) > 0",
                name,
                ERASED,
                numbers,
            )
        await self.conn.execute(f"UPDATE ticket_messages SET body=$3, author_name=$3 WHERE {mine}", *who, ERASED)
        await self.conn.execute("UPDATE people SET name=$3 WHERE platform=$1 AND id=$2", *who, ERASED)
        await self.conn.execute(
            "UPDATE ticket_events SET actor_name=$3 WHERE actor_platform=$1 AND actor_id=$2", *who, ERASED
        )
        await self._set_details(changed)
        if numbers:
            await self.conn.execute(
                "UPDATE tickets SET customer_name=$1, subject=$1, description=$1 WHERE number = ANY($2::bigint[])",
                ERASED,
                numbers,
            )
            await self.conn.execute(
                "UPDATE csat SET comment=$1 WHERE ticket = ANY($2::bigint[]) AND comment IS NOT NULL", ERASED, numbers
            )
            await self.conn.execute("DELETE FROM kb_learned WHERE ticket = ANY($1::bigint[])", numbers)
            await self._erase_incident_texts(numbers)
            # posts already sent (cards and replies quoting them); pending ones are still sent, then kept as sent
            await self.conn.execute(
                "UPDATE outbox SET payload=$1 WHERE ticket = ANY($2::bigint[]) AND state != 'pending'",
                _ERASED_POST,
                numbers,
            )
            if found.learned_wordings:
                await self.conn.execute("UPDATE kb_revision SET value = value + 1 WHERE id = 1")  # running bots reload
        return found

    async def purge_closed(self, closed_before: datetime) -> list[int]:
        """Retention: erase message texts (and subject, description, rating comment, sent posts) of tickets
        closed before `closed_before`. Returns the tickets purged now (already purged ones are skipped)."""
        numbers = [
            int(r[0])
            for r in await self.conn.fetch(
                "SELECT number FROM tickets WHERE status='closed' AND closed_at < $1 AND description != $2"
                " ORDER BY number",
                closed_before,
                ERASED,
            )
        ]
        if not numbers:
            return []
        await self.conn.execute("UPDATE ticket_messages SET body=$1 WHERE ticket = ANY($2::bigint[])", ERASED, numbers)
        await self.conn.execute(
            "UPDATE tickets SET subject=$1, description=$1, resolution_summary=CASE WHEN resolution_summary IS NULL"
            " THEN NULL ELSE $1 END WHERE number = ANY($2::bigint[])",
            ERASED,
            numbers,
        )
        await self.conn.execute(
            "UPDATE csat SET comment=$1 WHERE ticket = ANY($2::bigint[]) AND comment IS NOT NULL", ERASED, numbers
        )
        await self.conn.execute(
            "UPDATE outbox SET payload=$1 WHERE ticket = ANY($2::bigint[]) AND state != 'pending'",
            _ERASED_POST,
            numbers,
        )
        await self._erase_incident_texts(numbers)
        events = await self.conn.fetch("SELECT id, detail FROM ticket_events WHERE ticket = ANY($1::bigint[])", numbers)
        scrubbed = {int(e["id"]): _scrub_detail(e["detail"]) for e in events}
        await self._set_details({k: v for k, v in scrubbed.items() if v is not None})
        return numbers

    async def _set_details(self, details: dict[int, dict[str, Any]]) -> None:
        if details:
            await self.conn.executemany(
                "UPDATE ticket_events SET detail=$2 WHERE id=$1", [(event_id, d) for event_id, d in details.items()]
            )

    async def _erase_incident_texts(self, numbers: list[int]) -> None:
        """Incident detection keeps each report's text (and unlinked wordings as negative examples)."""
        await self.conn.execute("UPDATE incident_reports SET text=$1 WHERE ticket = ANY($2::bigint[])", ERASED, numbers)
        await self.conn.execute(
            "UPDATE incident_negatives SET text=$1 WHERE ticket = ANY($2::bigint[])", ERASED, numbers
        )

    async def _count(self, sql: str, *args: Any) -> int:
        value = await self.conn.fetchval(sql, *args)
        return int(value) if value is not None else 0
