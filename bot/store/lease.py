"""Leases: one holder at a time for a named role, renewed while it lives, taken over once it lapses.

On SQLite the role is "writer": a second `threaddesk run`/`console` on a database already in use stops at
start with one line naming the other process, instead of both posting everything twice. A holder that
crashed stops renewing; its lease lapses after `ttl` and the next process takes over — at once when the
holder was on this host and its process is gone. The PostgreSQL store uses the same rows for leadership.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.store.db import fetch_one, from_db, to_db

Conn = aiosqlite.Connection


@dataclass(frozen=True)
class Holder:
    token: str  # unique per process and start
    host: str
    pid: int
    since: datetime
    expires: datetime

    def describe(self) -> str:
        return f"host {self.host}, pid {self.pid}, since {self.since:%Y-%m-%d %H:%M:%S} UTC"

    @property
    def gone(self) -> bool:
        """This host's process that held the lease no longer exists (it crashed or was killed)."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False


def me(now: datetime, ttl: timedelta) -> Holder:
    return Holder(uuid.uuid4().hex, socket.gethostname(), os.getpid(), now, now + ttl)


async def current(conn: Conn, role: str) -> Holder | None:
    row = await fetch_one(conn, "SELECT token, host, pid, since, expires FROM leases WHERE role = ?", (role,))
    if row is None:
        return None
    return Holder(row["token"], row["host"], int(row["pid"]), from_db(row["since"]), from_db(row["expires"]))


async def take(conn: Conn, role: str, claimant: Holder, now: datetime) -> Holder | None:
    """Take `role` for `claimant` (inside a write transaction). Returns the live holder that stops us, or
    None when the lease is now ours."""
    held = await current(conn, role)
    if held is not None and held.token != claimant.token and held.expires > now and not held.gone:
        return held
    await conn.execute(
        "INSERT INTO leases (role, token, host, pid, since, expires) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (role) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid,"
        " since = excluded.since, expires = excluded.expires",
        (role, claimant.token, claimant.host, claimant.pid, to_db(claimant.since), to_db(claimant.expires)),
    )
    return None


async def renew(conn: Conn, role: str, token: str, expires: datetime) -> bool:
    """Push our lease's expiry forward; False when it is no longer ours (we stalled and someone took it)."""
    cursor = await conn.execute(
        "UPDATE leases SET expires = ? WHERE role = ? AND token = ?", (to_db(expires), role, token)
    )
    return cursor.rowcount == 1


async def release(conn: Conn, role: str, token: str) -> None:
    await conn.execute("DELETE FROM leases WHERE role = ? AND token = ?", (role, token))
