"""Slack HTTP mode under load: N signed `message.im` events posted concurrently to bolt's /slack/events
endpoint (real bolt app, real aiohttp server, real HTTP), the Web API answered by the local fake.

Reports ack latency (time until Slack would get its HTTP 200; Slack's limit is 3 s) and end-to-end
tickets/s: from the first request until every ticket exists and every outbox post (acknowledgement +
queue card) has been delivered to the fake API.

    .venv/bin/python bench/slack_http.py [--events 2000] [--in-flight 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from slack_sdk.signature import SignatureVerifier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the fake Slack API lives in tests/fakes


from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import settings_from_dict
from bot.delivery import DeliveryWorker
from bot.ports import Store, SystemClock
from bot.storage import open_store
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlackApi

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
PHRASES = [
    "I can't log in to my account",
    "How do I get a refund for last month?",
    "the export to csv is empty",
    "my card was declined when upgrading",
    "how do I invite my team",
]


def envelope(i: int) -> str:
    ts = f"1699990000.{i:06d}"
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0ACME",
            "api_app_id": "A0THREADDESK",
            "event_id": f"Ev{i:010d}",
            "event_time": 1699990000,
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": f"D{i:08d}",
                "user": f"U{i:08d}",
                "text": f"{PHRASES[i % len(PHRASES)]} (case {i})",
                "ts": ts,
                "event_ts": ts,
            },
        }
    )


def slack_side(events: int, in_flight: int, pipe: Connection) -> None:
    """Everything that is Slack, in its own process as in reality: the fake Web API, and the sender of
    signed events that measures how long each one takes to be acknowledged."""

    async def run() -> None:
        api = FakeSlackApi(
            users={f"U{i:08d}": f"Customer {i}" for i in range(events)},
            channels={"CQUEUE": {"id": "CQUEUE", "name": "support-queue", "is_member": True}},
        )
        await api.start()
        pipe.send(api.api_url)
        port = pipe.recv()
        bodies = [envelope(i) for i in range(events)]
        verifier = SignatureVerifier(SECRET)
        latencies: list[float] = []
        gate = asyncio.Semaphore(in_flight)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as session:

            async def send(body: str) -> None:
                async with gate:
                    stamp = str(int(time.time()))
                    headers = {
                        "Content-Type": "application/json",
                        "X-Slack-Request-Timestamp": stamp,
                        "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body),
                    }
                    started = time.perf_counter()
                    async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers) as r:
                        await r.read()
                        assert r.status == 200, r.status
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(send(b) for b in bodies))
            pipe.send((latencies, time.perf_counter() - started))
        await asyncio.Event().wait()

    asyncio.run(run())


async def count(db: Store, table: str) -> int:
    async with db.reading() as uow:
        cursor = await uow.execute(f"SELECT count(*) FROM {table}")
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def delivered(db: Store) -> int:
    async with db.reading() as uow:
        cursor = await uow.execute("SELECT count(*) FROM outbox WHERE state = 'delivered'")
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def main(events: int, in_flight: int) -> None:
    ours, theirs = multiprocessing.Pipe()
    slack = multiprocessing.Process(target=slack_side, args=(events, in_flight, theirs), daemon=True)
    slack.start()
    api_url = await asyncio.to_thread(ours.recv)
    raw = {"slack": {"enabled": True, "mode": "http", "api_base_url": api_url, "queue_channel": "CQUEUE"}}
    settings = settings_from_dict(raw, {"slack": SlackConfig})
    config = settings.adapters["slack"]
    assert isinstance(config, SlackConfig)
    with tempfile.TemporaryDirectory() as tmp:
        async with open_store(Path(tmp) / "bench.db") as db:
            adapter = SlackAdapter(config, Secrets(BOT_TOKEN, SECRET, APP_TOKEN))
            kb = await open_knowledge_base(settings, db, SystemClock())
            desk = build_desk(settings, db, kb=kb, clock=SystemClock())
            adapter.attach(desk)
            port = await adapter.start_http("127.0.0.1", 0)
            worker = DeliveryWorker(db, {"slack": adapter.platform}, desk.ctx.clock)
            delivering = asyncio.create_task(worker.run())
            started = time.perf_counter()
            cpu_before = time.process_time()
            ours.send(port)
            latencies, acked = await asyncio.to_thread(ours.recv)
            expected_posts = 2 * events  # acknowledgement in the DM thread + the queue card
            opened_at = None
            while (posts := await delivered(db)) < expected_posts:
                if opened_at is None and await count(db, "tickets") >= events:
                    opened_at = time.perf_counter() - started
                await asyncio.sleep(0.01)
                if time.perf_counter() - started > 300:
                    raise SystemExit(f"only {posts} of {expected_posts} posts after 300 s")
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
            delivering.cancel()
            await adapter.close()
            async with db.reading() as uow:
                cursor = await uow.execute("SELECT count(*) FROM tickets")
                row = await cursor.fetchone()
    slack.terminate()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"Slack HTTP mode: {events} signed message events, {in_flight} in flight")
    print(
        f"  ack latency      p50 {statistics.median(latencies) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms   "
        f"max {latencies[-1] * 1000:6.1f} ms"
    )
    print(f"  all acked in     {acked:6.2f} s")
    print(f"  tickets          {row[0] if row else 0}, all opened after {opened_at or total:.2f} s")
    print(f"  end to end       {total:6.2f} s  = {events / total:6.0f} tickets/s (incl. {posts} posts delivered)")
    print(f"  our process CPU  {cpu:6.2f} s  = {cpu / events * 1000:.2f} ms per ticket (bolt + desk + delivery)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.in_flight))
