"""Leases on PostgreSQL: one holder at a time for a named role (a Discord gateway shard, say), renewed while
it lives, taken over once it lapses. `take` locks the role's row, so two processes asking at once take turns."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.records import Holder


class PgLeases:
    """Implements `bot.repositories.LeasesRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing

    async def current(self, role: str) -> Holder | None:
        lock = " FOR UPDATE" if self.writing else ""
        row = await self.conn.fetchrow(
            f"SELECT token, host, pid, since, expires FROM leases WHERE role = $1{lock}", role
        )
        if row is None:
            return None
        return Holder(row["token"], row["host"], int(row["pid"]), row["since"], row["expires"])

    async def take(self, role: str, claimant: Holder, now: datetime) -> Holder | None:
        held = await self.current(role)
        if held is not None and held.token != claimant.token and held.expires > now and not held.gone:
            return held
        await self.conn.execute(
            "INSERT INTO leases (role, token, host, pid, since, expires) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (role) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid,"
            " since = excluded.since, expires = excluded.expires",
            role,
            claimant.token,
            claimant.host,
            claimant.pid,
            claimant.since,
            claimant.expires,
        )
        return None

    async def renew(self, role: str, token: str, expires: datetime) -> bool:
        done = await self.conn.fetchval(
            "UPDATE leases SET expires = $1 WHERE role = $2 AND token = $3 RETURNING true", expires, role, token
        )
        return bool(done)

    async def release(self, role: str, token: str) -> None:
        await self.conn.execute("DELETE FROM leases WHERE role = $1 AND token = $2", role, token)
