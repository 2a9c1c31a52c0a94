"""Each ticket's SLA clock (due moments, resolution time used) and the alerts fired, once each."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from bot.domain.sla import Due, Level, ResolutionClock, Target
from bot.records import StoredClock
from bot.store.sqlite.connection import fetch_one, opt_from_db, to_db


class SqliteSla:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def get_clock(self, ticket: int) -> StoredClock | None:
        row = fetch_one(self.conn, "SELECT * FROM sla_clocks WHERE ticket=?", (ticket,))
        if row is None:
            return None
        clock = ResolutionClock(timedelta(seconds=row["used_seconds"]), opt_from_db(row["running_since"]))
        return StoredClock(clock, opt_from_db(row["first_response_due"]), opt_from_db(row["resolution_due"]))

    async def save_clock(self, ticket: int, clock: ResolutionClock, due: Due) -> None:
        self.conn.execute(
            "INSERT INTO sla_clocks (ticket, used_seconds, running_since, first_response_due, resolution_due)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (ticket) DO UPDATE SET used_seconds=excluded.used_seconds,"
            " running_since=excluded.running_since, first_response_due=excluded.first_response_due,"
            " resolution_due=excluded.resolution_due",
            (
                ticket,
                clock.used.total_seconds(),
                to_db(clock.running_since) if clock.running_since else None,
                to_db(due.first_response) if due.first_response else None,
                to_db(due.resolution) if due.resolution else None,
            ),
        )

    async def load(self, ticket: int) -> tuple[StoredClock | None, set[tuple[str, str]]]:
        """The clock and the alerts already fired, in one round trip (this runs on every ticket change)."""
        row = fetch_one(
            self.conn,
            "SELECT s.used_seconds, s.running_since, s.first_response_due, s.resolution_due,"
            " (SELECT group_concat(a.target || ':' || a.level) FROM sla_alerts a WHERE a.ticket = x.t)"
            " FROM (SELECT ? AS t) x LEFT JOIN sla_clocks s ON s.ticket = x.t",
            (ticket,),
        )
        assert row is not None
        stored = None
        if row[0] is not None:
            clock = ResolutionClock(timedelta(seconds=row[0]), opt_from_db(row[1]))
            stored = StoredClock(clock, opt_from_db(row[2]), opt_from_db(row[3]))
        fired = {(pair.split(":")[0], pair.split(":")[1]) for pair in (row[4] or "").split(",") if pair}
        return stored, fired

    async def record_alert(
        self, ticket: int, target: Target, level: Level, due_at: datetime, fired_at: datetime, late: bool
    ) -> bool:
        """True the first time; False when this alert already fired (so it is never posted twice)."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO sla_alerts (ticket, target, level,"
            " due_at, fired_at, late) VALUES (?, ?, ?, ?, ?, ?)",
            (ticket, target.value, level.value, to_db(due_at), to_db(fired_at), int(late)),
        )
        return cur.rowcount == 1
