"""What automatic assignment adds to intake: the same new-ticket messages through three desks in one run,
interleaved message by message so machine noise hits all three alike —

  no teams      : intake as before (rules, KB suggestions, ticket, history, outbox)
  manual team   : routed to a team (one more row), nobody assigned
  round_robin / least_loaded : routed and assigned among 5 agents (availability, open load, the pointer,
                  the assignment, the customer's "Erin is looking at this" and the assignee's note)

and, as the raw ceiling, the assignment's extra statements alone in a plain `sqlite3` transaction on a
database the store created (`bot.storage.open_store`). Target (issue 14): auto-assignment adds ≤ 1 ms p99 to
intake; the ratio is each mode's p99 over the same run's p99 without teams.

    .venv/bin/python bench/routing.py [--messages 2000] [--open 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bootstrap import build_desk, open_knowledge_base  # noqa: E402
from bot.config import PlatformChannels, settings_from_dict  # noqa: E402
from bot.domain.inbound import IncomingMessage  # noqa: E402
from bot.domain.refs import UserRef  # noqa: E402
from bot.ports import Store, SystemClock  # noqa: E402
from bot.services import routing  # noqa: E402
from bot.services.desk import Desk  # noqa: E402
from bot.storage import open_store  # noqa: E402

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
    # the same five people as a platform group (a Slack user group, a Discord role), looked up on every ticket
    "rr, a group": [
        {"name": "support", "members": ["bench:group:support"], "categories": ["general"], "assignment": "round_robin"}
    ],
}


RESOLVER = UserRef(platform="bench", id="lead", name="Lead")


class BenchGroup:
    """A `GroupMembers` source as the adapters keep one: the group's people in memory."""

    platform = "bench"

    def members_of(self, group: str) -> list[str]:
        return [a.split(":")[1] for a in AGENTS] if group == "group:support" else []


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def desk_for(teams: list[dict[str, Any]], db: Store) -> Desk:
    settings = settings_from_dict(
        {
            "roles": {"agents": AGENTS, "leads": [RESOLVER.key]},
            "intake": {"max_open_per_customer": 0},
            "teams": teams,
            "bench": {"queue_channel": "queue", "leads_channel": "leads"},
        },
        {"bench": PlatformChannels},
    )
    kb = await open_knowledge_base(settings, db, SystemClock())
    desk = build_desk(settings, db, kb=kb, member_sources=[BenchGroup()])
    # a running desk knows its agents' names: they have worked tickets, or the adapters stored them
    await desk.remember_people([UserRef(platform="bench", id=a.split(":")[1], name=f"Agent {a[-1]}") for a in AGENTS])
    return desk


#: intake latencies; routing's share of them, wall-clock and CPU (ms); CPU ms/ticket
Result = tuple[list[float], list[float], list[float], float]


async def run(n: int, folder: Path, keep_open: int) -> dict[str, Result]:
    """Every mode's desk takes the same messages, interleaved; besides the whole intake, the time spent in
    routing (`routing.on_open`: the team, the pick, the assignment and its posts) is timed inside it. With
    `keep_open`, the oldest ticket beyond that many is resolved after each message, untimed (agents keeping up:
    the open load least-loaded counts stays bounded); 0 leaves every ticket open."""
    steps: dict[str, list[float]] = {mode: [] for mode in MODES}
    step_cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    current = [""]
    on_open = routing.on_open

    async def timed_on_open(*args: Any) -> None:
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            await on_open(*args)
        finally:
            steps[current[0]].append((time.perf_counter() - t0) * 1000)
            step_cpu[current[0]].append((time.process_time() - c0) * 1000)

    routing.on_open = timed_on_open  # type: ignore[assignment]  # intake calls it through the module
    async with contextlib.AsyncExitStack() as stack:
        desks: dict[str, Desk] = {}
        for index, (mode, teams) in enumerate(MODES.items()):
            db = await stack.enter_async_context(open_store(folder / f"desk-{index}.db"))
            desks[mode] = await desk_for(teams, db)
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
                current[0] = mode
                c0, t0 = time.process_time(), time.perf_counter()
                await desk.receive(msg)
                times[mode].append((time.perf_counter() - t0) * 1000)
                cpu[mode] += time.process_time() - c0
                if keep_open and i >= keep_open:
                    done = await desk.run(RESOLVER, f"/ticket resolve {i + 1 - keep_open} Fixed.")
                    assert done.ok, done.text
    routing.on_open = on_open  # type: ignore[method-assign]
    return {mode: (times[mode], steps[mode], step_cpu[mode], cpu[mode] / n * 1000) for mode in MODES}


async def raw(n: int, folder: Path) -> list[float]:
    """The statements auto-assignment adds, alone: team row, load, away, pointer, assignment, event."""
    path = folder / "raw.db"
    async with open_store(path):  # the desk's schema, as the store creates it
        pass
    latencies: list[float] = []
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")  # as the store connects
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        now = "2026-11-24T00:00:00.000000Z"
        ids = [a.split(":")[1] for a in AGENTS]
        marks = ",".join("?" * len(ids))
        conn.execute("BEGIN")
        for i in range(n):
            conn.execute(
                "INSERT INTO tickets (subject, description, customer_platform, customer_id, customer_name,"
                " origin_channel, origin_thread, priority, category, status, created_at, updated_at)"
                " VALUES ('s', 'd', 'bench', ?, 'C', ?, ?, 'normal', 'general', 'new', ?, ?)",
                (f"u{i}", f"dm-{i}", f"m{i}", now, now),
            )
        conn.execute("COMMIT")
        for i in range(1, n + 1):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO ticket_routing (ticket, team) VALUES (?, 'support')", (i,))
            conn.execute(f"SELECT id, away_until FROM agent_presence WHERE platform='bench' AND id IN ({marks})", ids)
            conn.execute(
                f"SELECT assignee_id, COUNT(*) FROM tickets WHERE assignee_id IN ({marks}) AND status IN ('new', "
                "'open', 'pending', 'on_hold') AND coalesce(assignee_platform, customer_platform)='bench'"
                " GROUP BY assignee_id",
                ids,
            ).fetchall()
            conn.execute("SELECT last_member FROM assignment_pointers WHERE team='support'").fetchall()
            conn.execute(
                "INSERT INTO assignment_pointers VALUES ('support', ?, ?) ON CONFLICT (team) DO UPDATE"
                " SET last_member=excluded.last_member",
                (ids[i % 5], now),
            )
            conn.execute(
                "UPDATE tickets SET assignee_id=?, assignee_platform='bench', status='open' WHERE number=?",
                (ids[i % 5], i),
            )
            conn.execute(
                "INSERT INTO ticket_events (ticket, at, actor_platform, actor_id, actor_name, kind)"
                " VALUES (?, ?, 'bench', 'threaddesk', 'ThreadDesk', 'assigned')",
                (i, now),
            )
            conn.execute("COMMIT")
            latencies.append((time.perf_counter() - t0) * 1000)
    finally:
        conn.close()
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument(
        "--open", type=int, default=50, help="tickets kept open, the older resolved (0: every ticket stays open)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = await run(args.messages, Path(tmp), args.open)
        ceiling = await raw(args.messages, Path(tmp))
    base = results["no teams"][0]
    kept = f"the latest {args.open} tickets open, the older resolved" if args.open else "every ticket stays open"
    print(f"messages per desk: {args.messages:,} (interleaved), 5 agents; {kept}")
    print("               whole intake (wall clock)                 routing inside it: wall p50/p99, CPU p50/p99")
    for mode, (latencies, step, step_cpu, cpu_ms) in results.items():
        extra = pct(latencies, 99) - pct(base, 99)
        ratio = pct(latencies, 99) / pct(base, 99)
        print(
            f"{mode:13}: p50 {pct(latencies, 50):5.2f} p99 {pct(latencies, 99):6.2f} ms (×{ratio:.2f}, {extra:+5.2f})"
            f"   {pct(step, 50):5.2f} / {pct(step, 99):5.2f} ms, {pct(step_cpu, 50):5.2f} / {pct(step_cpu, 99):5.2f} ms"
            f"   CPU {cpu_ms:4.2f} ms/ticket"
        )
    print(f"raw assignment statements: p50 {pct(ceiling, 50):6.3f} ms   p99 {pct(ceiling, 99):6.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
