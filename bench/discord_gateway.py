"""Discord intake end to end: N `MESSAGE_CREATE` dispatches through the local fake gateway into the real
discord.py bot, the desk (one SQLite transaction each), the outbox and the delivery worker, until each
ticket's acknowledgement is POSTed into its new thread.

The fake Discord runs in its own process (as Discord runs on other machines), so its CPU is not the bot's.
It dispatches the messages and times each one from dispatch to the REST call that posts its
acknowledgement. Two runs: a burst (every dispatch at once: throughput) and a paced run at a fixed rate
(latency without a backlog).

    .venv/bin/python bench/discord_gateway.py [--messages 2000] [--rate 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.discord.adapter import DiscordAdapter  # noqa: E402
from adapters.discord.config import DiscordConfig  # noqa: E402
from bot.bootstrap import build_desk, open_knowledge_base  # noqa: E402
from bot.config import settings_from_dict  # noqa: E402
from bot.delivery import DeliveryWorker  # noqa: E402
from bot.ports import SystemClock  # noqa: E402
from bot.storage import open_store  # noqa: E402
from tests.fakes.discord_api import TOKEN, FakeDiscord, eventually  # noqa: E402

CONCURRENCY = 16  # the delivery worker's default

PHRASES = [
    "I can't log in to my account",
    "How do I get a refund for last month?",
    "the export to csv is empty",
    "my card was declined when upgrading",
    "is flowboard down? nothing loads",
    "how do I invite my team",
    "lost my phone with the authenticator app",
    "the mobile app does not sync my boards",
]


# --- the fake Discord's process ----------------------------------------------------------------------------


def discord_process(pipe: Connection, messages: int, rate: float | None) -> None:
    logging.disable(logging.WARNING)
    asyncio.run(_discord(pipe, messages, rate))


async def _discord(pipe: Connection, messages: int, rate: float | None) -> None:
    fake = await FakeDiscord().start()
    intake, queue = fake.text_channel("support"), fake.text_channel("support-queue")
    people = [fake.user(f"Customer{i}") for i in range(messages)]
    said: dict[str, float] = {}
    acked: dict[str, float] = {}
    seen = 0

    def count() -> int:
        nonlocal seen
        for call in fake.calls[seen:]:
            thread = call.path.split("/")[2] if call.path.endswith("/messages") else ""
            if call.method == "POST" and call.status == 200 and thread in said:
                acked.setdefault(thread, call.at)
        seen = len(fake.calls)
        return len(acked)

    pipe.send({"api": fake.api_base_url, "guild": fake.guild_id, "intake": intake, "queue": queue})
    await eventually(lambda: fake.connected.is_set(), timeout=60, what="the bot")
    await asyncio.sleep(0.2)  # let it settle after READY
    start = time.perf_counter()
    for i, person in enumerate(people):
        if rate:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        said[fake.say(person, intake, PHRASES[i % len(PHRASES)])] = time.perf_counter()
        if i % 50 == 0:
            await asyncio.sleep(0)  # let the gateway writer keep up
    try:
        await eventually(lambda: count() == messages, timeout=120, what="every acknowledgement")
    except AssertionError:
        missing = [m for m in said if m not in acked]
        pipe.send({"error": f"{len(missing)} of {messages} never acknowledged, e.g. {missing[:3]}"})
        await fake.stop()
        return
    latencies = sorted((acked[m] - said[m]) * 1000 for m in said)
    elapsed = max(acked.values()) - start
    pipe.send({"rate": messages / elapsed, "latencies": latencies, "fake_cpu": time.process_time() / elapsed})
    await asyncio.to_thread(pipe.recv)  # the bot has stopped: now Discord may go away
    await fake.stop()


# --- the bot's process -------------------------------------------------------------------------------------


async def run(messages: int, rate: float | None) -> dict[str, Any]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=discord_process, args=(child, messages, rate))
    process.start()
    info = await receive(parent, process)
    raw = {
        "enabled": True,
        "api_base_url": info["api"],
        "guild_id": info["guild"],
        "intake_channels": [info["intake"]],
        "queue_channel": info["queue"],
    }
    settings = settings_from_dict({"discord": raw, "intake": {"max_open_per_customer": 0}}, {"discord": DiscordConfig})
    config = settings.adapters["discord"]
    assert isinstance(config, DiscordConfig)
    adapter = DiscordAdapter(config, TOKEN, guild_ready_timeout=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        async with open_store(Path(tmp) / "bench.db") as db:
            kb = await open_knowledge_base(settings, db, SystemClock())
            desk = build_desk(settings, db, kb=kb, clock=SystemClock(), role_sources=adapter.role_sources)
            worker = DeliveryWorker(db, {"discord": adapter.platform}, SystemClock(), concurrency=CONCURRENCY)
            tasks = [asyncio.create_task(worker.run()), asyncio.create_task(adapter.serve(desk))]
            try:
                result = await receive(parent, process)
                if "error" in result:
                    raise SystemExit(result["error"])
            finally:
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
    parent.send("stop")
    process.join(10)
    return result


async def receive(pipe: Connection, process: Any) -> dict[str, Any]:
    while not pipe.poll():
        if not process.is_alive():
            raise SystemExit(f"the fake Discord process ended (exit code {process.exitcode})")
        await asyncio.sleep(0.05)
    data: dict[str, Any] = pipe.recv()
    return data


def p(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300.0, help="dispatches per second in the paced run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cpu = time.process_time()
    burst = await run(args.messages, None)
    lat = burst["latencies"]
    print(
        f"burst: {args.messages:,} dispatches → {burst['rate']:,.0f} tickets/s end to end "
        f"(dispatch → acknowledgement p50 {p(lat, 0.5):,.0f} ms, p99 {p(lat, 0.99):,.0f} ms, backlog included); "
        f"bot CPU {1000 * (time.process_time() - cpu) / args.messages:.2f} ms/ticket; "
        f"the fake Discord process was busy {100 * burst['fake_cpu']:.0f}% of the time"
    )
    paced = await run(args.messages, args.rate)
    lat = paced["latencies"]
    print(
        f"paced at {args.rate:,.0f}/s: {paced['rate']:,.0f} tickets/s; dispatch → acknowledgement POST "
        f"p50 {p(lat, 0.5):.1f} ms, p99 {p(lat, 0.99):.1f} ms, max {lat[-1]:.1f} ms, "
        f"mean {statistics.fmean(lat):.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
