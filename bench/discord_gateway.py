"""Discord intake end to end: N `MESSAGE_CREATE` dispatches through the local fake gateway into the real
discord.py bot, the desk (one SQLite transaction each), the outbox and the delivery worker, until each
ticket's acknowledgement is POSTed into its new thread.

Two runs: a burst (every dispatch at once: throughput) and a paced run at a fixed rate (latency from
dispatch to the acknowledgement's REST call: p50 / p99).

    .venv/bin/python bench/discord_gateway.py [--messages 2000] [--rate 300]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.loader import load_directory  # noqa: E402
from kb.matcher import Matcher  # noqa: E402
from tests.adapters.discord.conftest import running_world  # noqa: E402
from tests.fakes.discord_api import FakeDiscord, eventually  # noqa: E402

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


async def run(messages: int, rate: float | None) -> tuple[float, list[float]]:
    """Returns (tickets per second, latencies in ms)."""
    fake = await FakeDiscord().start()
    kb = Matcher(load_directory(ROOT / "kb" / "sample").articles)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with running_world(fake, Path(tmp) / "bench.db", kb) as world:
                people = [fake.user(f"Customer{i}") for i in range(messages)]
                said: dict[str, float] = {}
                start = time.perf_counter()
                for i, person in enumerate(people):
                    if rate:
                        delay = start + i / rate - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    said[fake.say(person, world.intake, PHRASES[i % len(PHRASES)])] = time.perf_counter()

                acked: dict[str, float] = {}
                seen = 0

                def acks() -> dict[str, float]:
                    nonlocal seen
                    for call in fake.calls[seen:]:
                        thread = call.path.split("/")[2] if call.path.endswith("/messages") else ""
                        if call.method == "POST" and call.status == 200 and thread in said:
                            acked.setdefault(thread, call.at)
                    seen = len(fake.calls)
                    return acked

                await eventually(lambda: len(acks()) == messages, timeout=600, what="every acknowledgement")
                elapsed = max(acked.values()) - start
                latencies = sorted((acked[m] - said[m]) * 1000 for m in said)
                return messages / elapsed, latencies
    finally:
        await fake.stop()


def p(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300.0, help="dispatches per second in the paced run")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    burst_rate, burst = await run(args.messages, None)
    print(
        f"burst: {args.messages} dispatches → {burst_rate:,.0f} tickets/s end to end; "
        f"latency p50 {p(burst, 0.5):,.0f} ms, p99 {p(burst, 0.99):,.0f} ms (queueing included)"
    )
    paced_rate, paced = await run(args.messages, args.rate)
    print(
        f"paced at {args.rate:,.0f}/s: {paced_rate:,.0f} tickets/s; dispatch → acknowledgement POST "
        f"p50 {p(paced, 0.5):.1f} ms, p99 {p(paced, 0.99):.1f} ms, max {paced[-1]:.1f} ms, "
        f"mean {statistics.fmean(paced):.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
