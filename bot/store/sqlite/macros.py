"""Macro rows, every version of each, and how often each was applied (from the tickets' history)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.domain.macros import Macro, parse_actions
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, to_db

_USES = (
    "(SELECT COUNT(*) FROM ticket_events e WHERE e.kind = 'macro_applied'"
    " AND json_extract(e.detail, '$.macro') = m.name AND json_extract(e.detail, '$.owner') = m.owner)"
)


def _macro(row: sqlite3.Row) -> Macro:
    return Macro(
        name=row["name"],
        body=row["body"],
        actions=parse_actions(row["actions"]),
        owner=row["owner"],
        version=row["version"],
        updated_at=from_db(row["updated_at"]),
        updated_by=row["updated_by"],
        uses=int(row["uses"]),
    )


class SqliteMacros:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def get(self, name: str, owner: str) -> Macro | None:
        row = fetch_one(self.conn, f"SELECT m.*, {_USES} AS uses FROM macros m WHERE owner=? AND name=?", (owner, name))
        return _macro(row) if row else None

    async def visible(self, owner: str) -> list[Macro]:
        """Shared macros and `owner`'s own, most used first, then by name."""
        rows = fetch_all(
            self.conn,
            f"SELECT m.*, {_USES} AS uses FROM macros m WHERE owner IN ('', ?) ORDER BY uses DESC, name, owner",
            (owner,),
        )
        return [_macro(r) for r in rows]

    async def shared(self) -> list[Macro]:
        return await self.visible("")

    async def everything(self) -> list[Macro]:
        rows = fetch_all(self.conn, f"SELECT m.*, {_USES} AS uses FROM macros m ORDER BY owner, name")
        return [_macro(r) for r in rows]

    async def save(self, macro: Macro, *, actor: str, at: datetime, change: str) -> int | None:
        """Insert or update; a new version only when the text or actions changed. Returns the version written
        (None: unchanged)."""
        current = await self.get(macro.name, macro.owner)
        actions = macro.actions.text()
        if current is not None and current.body == macro.body and current.actions.text() == actions:
            return None
        version = 1 if current is None else current.version + 1
        self.conn.execute(
            "INSERT INTO macros (name, owner, body, actions, version,"
            " updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (owner, name) DO UPDATE SET body=excluded.body, actions=excluded.actions,"
            " version=excluded.version, updated_at=excluded.updated_at, updated_by=excluded.updated_by",
            (macro.name, macro.owner, macro.body, actions, version, to_db(at), actor),
        )
        await self._version(macro.owner, macro.name, version, at, actor, change, macro.body, actions)
        return version

    async def _version(
        self, owner: str, name: str, version: int, at: datetime, actor: str, change: str, body: str, actions: str
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO macro_versions (owner, name, version, at, actor, change, body, actions)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (owner, name, version, to_db(at), actor, change, body, actions),
        )

    async def rename(self, macro: Macro, new_name: str, *, actor: str, at: datetime) -> None:
        self.conn.execute(
            "UPDATE macros SET name=?, version=version+1, updated_at=?, updated_by=? WHERE owner=? AND name=?",
            (new_name, to_db(at), actor, macro.owner, macro.name),
        )
        change = f"renamed from {macro.name}"
        await self._version(
            macro.owner, new_name, macro.version + 1, at, actor, change, macro.body, macro.actions.text()
        )

    async def delete(self, macro: Macro, *, actor: str, at: datetime) -> None:
        self.conn.execute("DELETE FROM macros WHERE owner=? AND name=?", (macro.owner, macro.name))
        await self._version(macro.owner, macro.name, macro.version + 1, at, actor, "deleted", macro.body, "")

    async def versions(self, name: str, owner: str) -> list[tuple[int, datetime, str, str]]:
        rows = fetch_all(
            self.conn,
            "SELECT version, at, actor, change FROM macro_versions WHERE owner=? AND name=? ORDER BY version",
            (owner, name),
        )
        return [(r[0], from_db(r[1]), r[2], r[3]) for r in rows]

    async def usage(self, since: datetime, until: datetime, teams: Sequence[str] = ()) -> dict[str, int]:
        """Macro name → times applied in `[since, until)` (personal macros count under their name too); with
        `teams`, only on tickets of those teams."""
        sql = (
            "SELECT json_extract(e.detail, '$.macro'), COUNT(*) FROM ticket_events e"
            " WHERE e.kind = 'macro_applied' AND e.at >= ? AND e.at < ?"
        )
        args: list[str] = [to_db(since), to_db(until)]
        if teams:
            sql += f" AND e.ticket IN (SELECT ticket FROM ticket_routing WHERE team IN ({','.join('?' * len(teams))}))"
            args += list(teams)
        rows = fetch_all(self.conn, sql + " GROUP BY 1 ORDER BY 2 DESC, 1", args)
        return {str(r[0]): int(r[1]) for r in rows}

    async def used_on(self, limit_per_macro: int = 50) -> dict[str, list[str]]:
        """Shared macro name → subjects of the tickets it was applied to (latest first): what the suggester learns."""
        rows = fetch_all(
            self.conn,
            "SELECT json_extract(e.detail, '$.macro'), t.subject FROM"
            " ticket_events e JOIN tickets t ON t.number = e.ticket"
            " WHERE e.kind = 'macro_applied' AND json_extract(e.detail, '$.owner') = '' ORDER BY e.id DESC LIMIT 5000",
        )
        found: dict[str, list[str]] = {}
        for name, subject in rows:
            bucket = found.setdefault(str(name), [])
            if len(bucket) < limit_per_macro and subject not in bucket:
                bucket.append(subject)
        return found

    async def revision(self) -> tuple[int, int]:
        """Changes to shared macros and their uses: the suggester rebuilds when this moves."""
        row = fetch_one(
            self.conn,
            "SELECT (SELECT COUNT(*) FROM macro_versions WHERE owner = ''),"
            " (SELECT COUNT(*) FROM ticket_events WHERE kind = 'macro_applied')",
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def suggestion_for(self, ticket: int) -> str | None:
        row = fetch_one(self.conn, "SELECT suggested_macro FROM ticket_routing WHERE ticket=?", (ticket,))
        return str(row[0]) if row and row[0] else None

    async def remember_suggestion(self, ticket: int, name: str) -> None:
        self.conn.execute(
            "INSERT INTO ticket_routing (ticket, suggested_macro) VALUES (?, ?)"
            " ON CONFLICT (ticket) DO UPDATE SET suggested_macro=excluded.suggested_macro",
            (ticket, name),
        )
