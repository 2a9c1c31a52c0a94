"""What automatic assignment adds to intake: the same new-ticket messages through three desks in one run,
interleaved message by message so machine noise hits all three alike —

  no teams      : intake as before (rules, KB suggestions, ticket, history, outbox)
  manual team   : routed to a team (one more row), nobody assigned
  round_robin / least_loaded : routed and assigned among 5 agents (availability, open load, the pointer,
                  the assignment, the customer's "Erin is looking at this" and the assignee's note)

and, as the raw ceiling, the assignment's extra statements alone in a plain aiosqlite transaction.
Target (issue 14): auto-assignment adds ≤ 1 ms p99 to intake.

    .venv/bin/python bench/routing.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiosqlite

from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import PlatformChannels, settings_from_dict
from bot.domain.inbound import IncomingMessage
from bot.domain.refs import UserRef
from bot.ports import Store, SystemClock
from bot.services.desk import Desk
from bot.storage import MIGRATIONS, open_store

PHRASES = [
    "I can't log in to my account",
    "How do I get a refund for last month?",
    "the export to csv is empty",
    "my card was declined when upgrading",
    "how do I invite my team",
]
AGENTS = [f"bench:a{i}" for i in range(5)]
MODES: dict[str, list[dict[str, Any]]] = {
    "no teams": [],
    "manual team": [{"name": "support", "members": AGENTS, "categories": ["general"]}],
    "round_robin": [{"name": "support", "members": AGENTS, "categories": ["general"], "assignment": "round_robin"}],
    "least_loaded": [{"name": "support", "members": AGENTS, "categories": ["general"], "assignment": "least_loaded"}],
}


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def desk_for(teams: list[dict[str, Any]], db: Store) -> Desk:
    settings = settings_from_dict(
        {
            "roles": {"agents": AGENTS},
            "intake": {"max_open_per_customer": 0},
            "teams": teams,
            "bench": {"queue_channel": "queue", "leads_channel": "leads"},
        },
        {"bench": PlatformChannels},
    )
    return build_desk(settings, db, kb=await open_knowledge_base(settings, db, SystemClock()))


async def run(n: int, folder: Path) -> dict[str, tuple[list[float], float]]:
    async with (
        open_store(folder / "a.db") as a,
        open_store(folder / "b.db") as b,
        open_store(folder / "c.db") as c,
        open_store(folder / "d.db") as d,
    ):
        desks = {mode: await desk_for(teams, db) for (mode, teams), db in zip(MODES.items(), (a, b, c, d), strict=True)}
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        cpu: dict[str, float] = dict.fromkeys(MODES, 0.0)
        for i in range(n):
            for mode, desk in desks.items():
                msg = IncomingMessage(
                    platform="bench",
                    message_id=f"m{i}",
                    author=UserRef(platform="bench", id=f"u{i}", name=f"Customer {i}"),
                    channel=f"dm-{i}",
                    text=f"{PHRASES[i % len(PHRASES)]} (order {i})",
                    is_direct=True,
                )
                c0, t0 = time.process_time(), time.perf_counter()
                await desk.receive(msg)
                times[mode].append((time.perf_counter() - t0) * 1000)
                cpu[mode] += time.process_time() - c0
    return {mode: (times[mode], cpu[mode] / n * 1000) for mode in MODES}


async def raw(n: int, folder: Path) -> list[float]:
    """The statements auto-assignment adds, alone: team row, load, away, pointer, assignment, event."""
    latencies: list[float] = []
    async with aiosqlite.connect(folder / "raw.db", isolation_level=None) as conn:
        for script in MIGRATIONS:
            await conn.executescript(script)
        now = "2026-11-24T00:00:00.000000Z"
        ids = [a.split(":")[1] for a in AGENTS]
        marks = ",".join("?" * len(ids))
        for i in range(n):
            await conn.execute(
                "INSERT INTO tickets (subject, description, customer_platform, customer_id, customer_name,"
                " origin_channel, origin_thread, priority, category, status, created_at, updated_at)"
                " VALUES ('s', 'd', 'bench', ?, 'C', ?, ?, 'normal', 'general', 'new', ?, ?)",
                (f"u{i}", f"dm-{i}", f"m{i}", now, now),
            )
        for i in range(1, n + 1):
            t0 = time.perf_counter()
            await conn.execute("BEGIN IMMEDIATE")
            await conn.execute("INSERT INTO ticket_routing (ticket, team) VALUES (?, 'support')", (i,))
            await conn.execute_fetchall(
                f"SELECT id, away_until FROM agent_presence WHERE platform='bench' AND id IN ({marks})", ids
            )
            await conn.execute_fetchall(
                f"SELECT assignee_id, COUNT(*) FROM tickets WHERE assignee_id IN ({marks}) AND customer_platform="
                "'bench' AND status NOT IN ('resolved', 'closed') GROUP BY assignee_id",
                ids,
            )
            await conn.execute_fetchall("SELECT last_member FROM assignment_pointers WHERE team='support'")
            await conn.execute(
                "INSERT INTO assignment_pointers VALUES ('support', ?, ?) ON CONFLICT (team) DO UPDATE"
                " SET last_member=excluded.last_member",
                (ids[i % 5], now),
            )
            await conn.execute("UPDATE tickets SET assignee_id=?, status='open' WHERE number=?", (ids[i % 5], i))
            await conn.execute(
                "INSERT INTO ticket_events (ticket, at, actor_platform, actor_id, actor_name, kind)"
                " VALUES (?, ?, 'bench', 'threaddesk', 'ThreadDesk', 'assigned')",
                (i, now),
            )
            await conn.execute("COMMIT")
            latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = await run(args.messages, Path(tmp))
        ceiling = await raw(args.messages, Path(tmp))
    base = results["no teams"][0]
    print(f"messages per desk: {args.messages:,} (interleaved), 5 agents")
    for mode, (latencies, cpu_ms) in results.items():
        extra = pct(latencies, 99) - pct(base, 99)
        print(
            f"{mode:13}: p50 {pct(latencies, 50):6.2f} ms   p99 {pct(latencies, 99):6.2f} ms   "
            f"CPU {cpu_ms:5.2f} ms/ticket   p99 vs no teams {extra:+6.2f} ms"
        )
    print(f"raw assignment statements: p50 {pct(ceiling, 50):6.3f} ms   p99 {pct(ceiling, 99):6.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
