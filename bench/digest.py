"""Digest, report and SLA-sweep timings on a big database.

Builds (once, cached in the temp folder) a database of 1,000,000 tickets over a year of history with
realistic shape — priorities, statuses, assignees, first responses, resolutions, closes, reopens, KB
deflections, CSAT surveys and ratings, SLA alerts, and for the ~100,000 open tickets their SLA clocks
and armed timers — then times, through the real code:

- the digest (metrics for the last day and the day before, per-day counts for 14 days, the chart PNG);
- the 30-day report (`threaddesk report --since 30d`: metrics for 30 days);
- the SLA sweep (a scheduler tick) over the open tickets: with nothing due, and with 100 alerts due.

    .venv/bin/python bench/digest.py [--tickets 1000000] [--db PATH] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.bootstrap import build_desk
from bot.config import PlatformChannels, settings_from_dict
from bot.scheduler import Scheduler
from bot.services import digest
from bot.storage import open_store
from bot.store.sqlite.connection import to_db

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENTS = [(f"agent{i}", f"Agent {i}") for i in range(25)]
PRIORITIES = ["low"] * 2 + ["normal"] * 5 + ["high"] * 2 + ["urgent"]
FR_MINUTES = {"urgent": 10, "high": 45, "normal": 150, "low": 600}
ACTIVE = ["new", "open", "open", "pending", "on_hold"]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def build(path: Path, n: int, seed: int = 7) -> None:
    """Write the history with plain sqlite3 (the schema comes from the real migrations)."""
    asyncio.run(_migrate(path))
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    start = NOW - timedelta(days=365)
    offsets = sorted(rng.random() * 365 * 86_400 for _ in range(n))
    tickets: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []
    csat: list[tuple[object, ...]] = []
    alerts: list[tuple[object, ...]] = []
    clocks: list[tuple[object, ...]] = []
    timers: list[tuple[object, ...]] = []
    due_now = 0

    def flush() -> None:
        conn.executemany(
            "INSERT INTO tickets (number, subject, description, customer_platform, customer_id, customer_name,"
            " origin_channel, origin_thread, priority, category, status, assignee_id, assignee_name, created_at,"
            " updated_at, first_response_at, resolved_at, closed_at, resolved_by_kb)"
            " VALUES (?, ?, ?, 'bench', ?, ?, 'support', ?, ?, 'general', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tickets,
        )
        conn.executemany(
            "INSERT INTO ticket_events (ticket, at, actor_platform, actor_id, actor_name, kind, detail)"
            " VALUES (?, ?, 'bench', ?, ?, ?, ?)",
            events,
        )
        conn.executemany("INSERT INTO csat (ticket, asked_at, rating, rated_at) VALUES (?, ?, ?, ?)", csat)
        conn.executemany(
            "INSERT INTO sla_alerts (ticket, target, level, due_at, fired_at) VALUES (?, ?, ?, ?, ?)", alerts
        )
        conn.executemany(
            "INSERT INTO sla_clocks (ticket, used_seconds, running_since, first_response_due, resolution_due)"
            " VALUES (?, 0, ?, ?, ?)",
            clocks,
        )
        conn.executemany("INSERT INTO timers (ticket, kind, due_at) VALUES (?, ?, ?)", timers)
        conn.commit()
        for batch in (tickets, events, csat, alerts, clocks, timers):
            batch.clear()

    for number, offset in enumerate(offsets, start=1):
        created = start + timedelta(seconds=offset)
        age_days = (NOW - created).total_seconds() / 86_400
        priority = rng.choice(PRIORITIES)
        customer = f"c{rng.randrange(200_000)}"
        agent_id, agent_name = rng.choice(AGENTS)
        active = rng.random() < (0.9 if age_days < 20 else 0.05)
        fr_at = created + timedelta(minutes=rng.expovariate(1 / FR_MINUTES[priority]))
        c = to_db(created)
        events.append((number, c, customer, customer.upper(), "opened", "{}"))
        resolved_at = closed_at = kb = None
        if active:
            status = rng.choice(ACTIVE)
            assigned = status != "new" and rng.random() < 0.8
            if status == "new" or fr_at > NOW:
                fr_at = None
            clocks.append((number, c, None, None))
            for kind in ("sla:first_response:breach", "sla:resolution:warning", "sla:resolution:breach"):
                if due_now < 100 and rng.random() < 0.01:
                    due, due_now = NOW - timedelta(seconds=30), due_now + 1
                else:
                    due = NOW + timedelta(minutes=rng.randrange(1, 4320))
                timers.append((number, kind, to_db(due)))
        else:
            assigned = True
            resolved = fr_at + timedelta(minutes=rng.expovariate(1 / (FR_MINUTES[priority] * 12)))
            closed = resolved + timedelta(hours=rng.expovariate(1 / 30))
            status = "closed" if closed < NOW else "resolved"
            resolved_at = to_db(resolved)
            closed_at = to_db(closed) if status == "closed" else None
            kb = "reset-password" if rng.random() < 0.12 else None
            events.append((number, resolved_at, agent_id, agent_name, "resolved", "{}"))
            if rng.random() < 0.05:
                events.append((number, resolved_at, customer, customer.upper(), "reopened", "{}"))
            if closed_at:
                events.append(
                    (number, closed_at, customer, customer.upper(), "status_changed", json.dumps({"after": "closed"}))
                )
                if rng.random() < 0.7:
                    rated = rng.random() < 0.4
                    csat.append((number, closed_at, rng.randint(1, 5) if rated else None, closed_at if rated else None))
            if rng.random() < 0.03:
                alerts.append((number, "first_response", "breach", c, c))
        if fr_at is not None:
            events.append((number, to_db(fr_at), agent_id, agent_name, "replied", "{}"))
        tickets.append(
            (
                number, f"Subject {number}", "…", customer, customer.upper(), f"t{number}", priority, status,
                agent_id if assigned else None, agent_name if assigned else None, c, c,
                to_db(fr_at) if fr_at else None, resolved_at, closed_at, kb,
            )
        )  # fmt: skip
        if len(tickets) >= 50_000:
            flush()
    flush()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


async def _migrate(path: Path) -> None:
    async with open_store(path):
        pass


def timed(label: str, runs: list[float]) -> str:
    return f"{label}: median {statistics.median(runs) * 1000:.0f} ms, best {min(runs) * 1000:.0f} ms ({len(runs)} runs)"


async def measure(path: Path, charts: Path) -> None:
    settings = settings_from_dict({"bench": {"enabled": True, "leads_channel": "leads"}}, {"bench": PlatformChannels})
    async with open_store(path) as db:
        async with db.reading() as conn:
            rows = await conn.execute_fetchall(
                "SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM ticket_events),"
                " (SELECT COUNT(*) FROM tickets WHERE status NOT IN ('resolved', 'closed')),"
                " (SELECT COUNT(*) FROM timers)"
            )
        n, events, open_, armed = next(iter(rows))
        print(f"database: {n:,} tickets, {events:,} events, {open_:,} open, {armed:,} armed timers — {path}")
        clock = Clock(NOW)
        desk = build_desk(settings, db, clock=clock)
        runs: list[float] = []
        for _ in range(5):
            t = time.perf_counter()
            await digest.build(desk.ctx, NOW - timedelta(days=1), NOW, None)
            runs.append(time.perf_counter() - t)
        print(timed("digest (metrics + trend + 14-day series, no chart)", runs))
        runs = []
        for i in range(3):
            t = time.perf_counter()
            await digest.build(desk.ctx, NOW - timedelta(days=1), NOW, charts / f"run{i}")
            runs.append(time.perf_counter() - t)
        print(timed("digest with chart PNG", runs))
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            async with db.reading() as conn:
                await conn.reports.report(NOW - timedelta(days=30), NOW)
            runs.append(time.perf_counter() - t)
        print(timed("30-day report", runs))
        scheduler = Scheduler(desk.ctx)
        t = time.perf_counter()
        fired = await scheduler.tick()
        first = time.perf_counter() - t
        print(
            f"SLA sweep firing {len(fired)} due alerts (each its own transaction + outbox posts): {first * 1000:.0f} ms"
        )
        # firing re-arms those tickets' timers from the real policy; let that settle before timing idle sweeps
        while await scheduler.tick():
            pass
        runs = []
        for _ in range(10):
            t = time.perf_counter()
            again = await scheduler.tick()
            assert again == [], again
            runs.append(time.perf_counter() - t)
        print(timed(f"SLA sweep over {open_:,} open tickets, nothing due", runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    path = args.db or Path(tempfile.gettempdir()) / f"threaddesk-bench-{args.tickets}.db"
    if args.rebuild or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        t = time.perf_counter()
        build(path, args.tickets)
        print(f"built {args.tickets:,} tickets in {time.perf_counter() - t:.0f} s")
    # the sweep fires and clears timers: measure on a copy so every run starts from the same state
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench.db"
        src = sqlite3.connect(path)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.close()
        asyncio.run(measure(copy, Path(tmp) / "charts"))


if __name__ == "__main__":
    main()
