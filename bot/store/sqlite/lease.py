"""Leases: one holder at a time for a named role, renewed while it lives, taken over once it lapses.

On SQLite the role is "writer": a second `threaddesk run`/`console` on a database already in use stops at
start with one line naming the other process, instead of both posting everything twice. A holder that
crashed stops renewing; its lease lapses after `ttl` and the next process takes over — at once when the
holder was on this host and its process is gone. The PostgreSQL store uses the same rows for leadership.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.records import Holder
from bot.store.sqlite.connection import fetch_one, from_db, to_db


class SqliteLeases:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def current(self, role: str) -> Holder | None:
        row = fetch_one(self.conn, "SELECT token, host, pid, since, expires FROM leases WHERE role = ?", (role,))
        if row is None:
            return None
        return Holder(row["token"], row["host"], int(row["pid"]), from_db(row["since"]), from_db(row["expires"]))

    async def take(self, role: str, claimant: Holder, now: datetime) -> Holder | None:
        """Take `role` for `claimant` (inside a write transaction). Returns the live holder that stops us, or
        None when the lease is now ours."""
        held = await self.current(role)
        if held is not None and held.token != claimant.token and held.expires > now and not held.gone:
            return held
        self.conn.execute(
            "INSERT INTO leases (role, token, host, pid, since, expires) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (role) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid,"
            " since = excluded.since, expires = excluded.expires",
            (role, claimant.token, claimant.host, claimant.pid, to_db(claimant.since), to_db(claimant.expires)),
        )
        return None

    async def renew(self, role: str, token: str, expires: datetime) -> bool:
        """Push our lease's expiry forward; False when it is no longer ours (we stalled and someone took it)."""
        cursor = self.conn.execute(
            "UPDATE leases SET expires = ? WHERE role = ? AND token = ?", (to_db(expires), role, token)
        )
        return cursor.rowcount == 1

    async def release(self, role: str, token: str) -> None:
        self.conn.execute("DELETE FROM leases WHERE role = ? AND token = ?", (role, token))
