"""Intake throughput: N new customer messages through the core (rules, KB suggestions, ticket, history,
message log, acknowledgement and queue card into the outbox — one transaction each), then delivery of the
outbox to a recording platform. Compared with a raw aiosqlite loop doing the same inserts per transaction.

    .venv/bin/python bench/intake.py [--messages 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiosqlite

from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import PlatformChannels, settings_from_dict
from bot.delivery import DeliveryWorker
from bot.domain.inbound import IncomingMessage
from bot.domain.refs import MessageRef, UserRef
from bot.outbound import Message
from bot.ports import SystemClock
from bot.storage import MIGRATIONS, open_store
from kb.loader import load_directory

ROOT = Path(__file__).resolve().parent.parent

PHRASES = [
    "I can't log in to my account",
    "How do I get a refund for last month?",
    "the export to csv is empty",
    "my card was declined when upgrading",
    "is flowboard down? nothing loads",
    "how do I invite my team",
    "lost my phone with the authenticator app",
    "the mobile app does not sync my boards",
    "please delete my account and all data",
    "where do I find my invoices",
]


class CountingPlatform:
    name = "bench"

    def __init__(self) -> None:
        self.posts = 0

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        self.posts += 1
        return MessageRef(platform=self.name, channel=channel, id=f"p{self.posts}")

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        self.posts += 1


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def core(n: int, folder: Path) -> tuple[float, float, float, float, int]:
    settings = settings_from_dict(
        {
            "intake": {
                "max_open_per_customer": 0,
                "rules": [{"match": r"\b(down|outage)\b", "priority": "urgent"}],
            },
            "bench": {"queue_channel": "queue", "leads_channel": "leads"},
        },
        {"bench": PlatformChannels},
    )
    latencies: list[float] = []
    async with open_store(folder / "core.db") as db:
        desk = build_desk(settings, db, kb=await open_knowledge_base(settings, db, SystemClock()))
        platform = CountingPlatform()
        worker = DeliveryWorker(db, {"bench": platform}, desk.ctx.clock)
        start = time.perf_counter()
        for i in range(n):
            msg = IncomingMessage(
                platform="bench",
                message_id=f"m{i}",
                author=UserRef(platform="bench", id=f"u{i}", name=f"Customer {i}"),
                channel=f"dm-{i}",
                text=f"{PHRASES[i % len(PHRASES)]} (order {i})",
                is_direct=True,
            )
            t0 = time.perf_counter()
            await desk.receive(msg)
            latencies.append((time.perf_counter() - t0) * 1000)
        intake_s = time.perf_counter() - start
        await worker.drain(max_passes=10**6)
        total_s = time.perf_counter() - start
    return n / intake_s, pct(latencies, 50), pct(latencies, 99), n / total_s, platform.posts


async def raw(n: int, folder: Path) -> tuple[float, float, float]:
    latencies: list[float] = []
    async with aiosqlite.connect(folder / "raw.db", isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        for statement in MIGRATIONS[0].split(";"):
            if statement.strip():
                await conn.execute(statement)
        now = "2026-11-24T00:00:00.000000Z"
        start = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            await conn.execute("BEGIN IMMEDIATE")
            await conn.execute("INSERT INTO inbound VALUES ('bench', ?, ?)", (f"m{i}", now))
            cur = await conn.execute(
                "INSERT INTO tickets (subject, description, customer_platform, customer_id, customer_name,"
                " origin_channel, origin_thread, priority, category, status, created_at, updated_at)"
                " VALUES (?, ?, 'bench', ?, ?, ?, ?, 'normal', 'general', 'new', ?, ?)",
                (PHRASES[i % 10], PHRASES[i % 10], f"u{i}", f"C{i}", f"dm-{i}", f"m{i}", now, now),
            )
            number = cur.lastrowid
            await conn.execute(
                "INSERT INTO ticket_events (ticket, at, actor_platform, actor_id, actor_name, kind)"
                " VALUES (?, ?, 'bench', ?, ?, 'opened')",
                (number, now, f"u{i}", f"C{i}"),
            )
            for role in ("customer", "bot"):
                await conn.execute(
                    "INSERT INTO ticket_messages (ticket, at, author_platform, author_id, author_name, author_role,"
                    " visibility, body, delivery) VALUES (?, ?, 'bench', ?, ?, ?, 'public', ?, 'received')",
                    (number, now, f"u{i}", f"C{i}", role, PHRASES[i % 10]),
                )
            for key in ("customer", "card"):
                await conn.execute(
                    "INSERT INTO outbox (ordering_key, platform, destination, payload, ticket, next_attempt_at,"
                    " created_at) VALUES (?, 'bench', '{}', '{}', ?, ?, ?)",
                    (f"{key}:{number}", number, now, now),
                )
            await conn.execute("COMMIT")
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - start
    return n / elapsed, pct(latencies, 50), pct(latencies, 99)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rate, p50, p99, e2e, posts = await core(args.messages, folder)
        raw_rate, raw_p50, raw_p99 = await raw(args.messages, folder)
    print(f"messages: {args.messages:,}  kb articles: {len(load_directory(ROOT / 'kb' / 'sample').articles)}")
    print(f"core intake        : {rate:8.0f} tickets/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    print(f"core incl. delivery: {e2e:8.0f} tickets/s   ({posts:,} posts delivered)")
    print(f"raw aiosqlite      : {raw_rate:8.0f} tickets/s   p50 {raw_p50:6.2f} ms   p99 {raw_p99:6.2f} ms")
    print(f"core / raw         : {rate / raw_rate:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
