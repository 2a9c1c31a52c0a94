"""Macro rows, every version of each, and how often each was applied (from the tickets' history).

Names sort by code point (`COLLATE "C"`), as SQLite's text order does, whatever the database's collation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot.domain.macros import Macro, parse_actions

_USES = (
    "(SELECT count(*) FROM ticket_events e WHERE e.kind = 'macro_applied'"
    " AND e.detail ->> 'macro' = m.name AND e.detail ->> 'owner' = m.owner)"
)


def _macro(row: asyncpg.Record) -> Macro:
    return Macro(
        name=row["name"],
        body=row["body"],
        actions=parse_actions(row["actions"]),
        owner=row["owner"],
        version=row["version"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        uses=int(row["uses"]),
    )


class PgMacros:
    """Implements `bot.repositories.MacrosRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def get(self, name: str, owner: str) -> Macro | None:
        """Not locked even in a writing unit: applying a macro to a ticket reads it without changing it, and
        applications of one macro on many tickets must not take turns. `save` locks what it changes."""
        return await self._get(name, owner, lock=False)

    async def _get(self, name: str, owner: str, *, lock: bool) -> Macro | None:
        sql = f"SELECT m.*, {_USES} AS uses FROM macros m WHERE owner = $1 AND name = $2"
        row = await self.conn.fetchrow(sql + (" FOR UPDATE OF m" if lock else ""), owner, name)
        return _macro(row) if row else None

    async def visible(self, owner: str) -> list[Macro]:
        """Shared macros and `owner`'s own, most used first, then by name."""
        rows = await self.conn.fetch(
            f"SELECT m.*, {_USES} AS uses FROM macros m WHERE owner IN ('', $1)"
            ' ORDER BY uses DESC, name COLLATE "C", owner COLLATE "C"',
            owner,
        )
        return [_macro(r) for r in rows]

    async def shared(self) -> list[Macro]:
        return await self.visible("")

    async def everything(self) -> list[Macro]:
        rows = await self.conn.fetch(
            f'SELECT m.*, {_USES} AS uses FROM macros m ORDER BY owner COLLATE "C", name COLLATE "C"'
        )
        return [_macro(r) for r in rows]

    async def save(self, macro: Macro, *, actor: str, at: datetime, change: str) -> int | None:
        """Insert or update; a new version only when the text or actions changed. Returns the version written
        (None: unchanged).

        In a writing unit the current row is read `FOR UPDATE`, so two edits of one macro take turns and each
        writes its own version. A new macro is inserted only if nobody else has just inserted one of that name;
        otherwise it becomes the next version of theirs (nothing written is lost)."""
        actions = macro.actions.text()
        current = await self._get(macro.name, macro.owner, lock=self.writing)
        if current is None:
            inserted = await self.conn.fetchval(
                "INSERT INTO macros (name, owner, body, actions, version, updated_at, updated_by)"
                " VALUES ($1, $2, $3, $4, 1, $5, $6) ON CONFLICT (owner, name) DO NOTHING RETURNING version",
                macro.name,
                macro.owner,
                macro.body,
                actions,
                at,
                actor,
            )
            if inserted is not None:
                await self._version(macro.owner, macro.name, 1, at, actor, change, macro.body, actions)
                return 1
            current = await self._get(macro.name, macro.owner, lock=self.writing)
            assert current is not None
        if current.body == macro.body and current.actions.text() == actions:
            return None
        version = current.version + 1
        await self.conn.execute(
            "UPDATE macros SET body = $3, actions = $4, version = $5, updated_at = $6, updated_by = $7"
            " WHERE owner = $1 AND name = $2",
            macro.owner,
            macro.name,
            macro.body,
            actions,
            version,
            at,
            actor,
        )
        await self._version(macro.owner, macro.name, version, at, actor, change, macro.body, actions)
        return version

    async def _version(
        self, owner: str, name: str, version: int, at: datetime, actor: str, change: str, body: str, actions: str
    ) -> None:
        await self.conn.execute(
            "INSERT INTO macro_versions (owner, name, version, at, actor, change, body, actions)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (owner, name, version) DO UPDATE SET"
            " at = excluded.at, actor = excluded.actor, change = excluded.change, body = excluded.body,"
            " actions = excluded.actions",
            owner,
            name,
            version,
            at,
            actor,
            change,
            body,
            actions,
        )

    async def rename(self, macro: Macro, new_name: str, *, actor: str, at: datetime) -> None:
        """The version written is the row's own (`RETURNING`), not the one `macro` was read at: the caller's
        read is not locked, and an edit committed since must not be overwritten in the history."""
        row = await self.conn.fetchrow(
            "UPDATE macros SET name = $1, version = version + 1, updated_at = $2, updated_by = $3"
            " WHERE owner = $4 AND name = $5 RETURNING version, body, actions",
            new_name,
            at,
            actor,
            macro.owner,
            macro.name,
        )
        if row is None:  # deleted since it was read
            return
        change = f"renamed from {macro.name}"
        await self._version(macro.owner, new_name, row["version"], at, actor, change, row["body"], row["actions"])

    async def delete(self, macro: Macro, *, actor: str, at: datetime) -> None:
        """As `rename`, the history records the version actually deleted."""
        row = await self.conn.fetchrow(
            "DELETE FROM macros WHERE owner = $1 AND name = $2 RETURNING version, body", macro.owner, macro.name
        )
        if row is None:  # deleted since it was read
            return
        await self._version(macro.owner, macro.name, row["version"] + 1, at, actor, "deleted", row["body"], "")

    async def versions(self, name: str, owner: str) -> list[tuple[int, datetime, str, str]]:
        rows = await self.conn.fetch(
            "SELECT version, at, actor, change FROM macro_versions WHERE owner = $1 AND name = $2 ORDER BY version",
            owner,
            name,
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def usage(self, since: datetime, until: datetime, teams: Sequence[str] = ()) -> dict[str, int]:
        """Macro name → times applied in `[since, until)` (personal macros count under their name too); with
        `teams`, only on tickets of those teams."""
        sql = (
            "SELECT e.detail ->> 'macro' COLLATE \"C\", count(*) FROM ticket_events e"
            " WHERE e.kind = 'macro_applied' AND e.at >= $1 AND e.at < $2"
        )
        args: list[object] = [since, until]
        if teams:
            sql += " AND e.ticket IN (SELECT ticket FROM ticket_routing WHERE team = ANY($3::text[]))"
            args.append(list(teams))
        rows = await self.conn.fetch(sql + " GROUP BY 1 ORDER BY 2 DESC, 1", *args)
        return {str(r[0]): int(r[1]) for r in rows}

    async def used_on(self, limit_per_macro: int = 50) -> dict[str, list[str]]:
        """Shared macro name → subjects of the tickets it was applied to (latest first): what the suggester learns."""
        rows = await self.conn.fetch(
            "SELECT e.detail ->> 'macro', t.subject FROM ticket_events e JOIN tickets t ON t.number = e.ticket"
            " WHERE e.kind = 'macro_applied' AND e.detail ->> 'owner' = '' ORDER BY e.id DESC LIMIT 5000"
        )
        found: dict[str, list[str]] = {}
        for name, subject in rows:
            bucket = found.setdefault(str(name), [])
            if len(bucket) < limit_per_macro and subject not in bucket:
                bucket.append(subject)
        return found

    async def revision(self) -> tuple[int, int]:
        """Changes to shared macros and their uses: the suggester rebuilds when this moves."""
        row = await self.conn.fetchrow(
            "SELECT (SELECT count(*) FROM macro_versions WHERE owner = ''),"
            " (SELECT count(*) FROM ticket_events WHERE kind = 'macro_applied')"
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def suggestion_for(self, ticket: int) -> str | None:
        value = await self.conn.fetchval("SELECT suggested_macro FROM ticket_routing WHERE ticket = $1", ticket)
        return str(value) if value else None

    async def remember_suggestion(self, ticket: int, name: str) -> None:
        await self.conn.execute(
            "INSERT INTO ticket_routing (ticket, suggested_macro) VALUES ($1, $2)"
            " ON CONFLICT (ticket) DO UPDATE SET suggested_macro = excluded.suggested_macro",
            ticket,
            name,
        )
