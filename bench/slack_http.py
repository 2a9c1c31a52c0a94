"""Slack HTTP mode under load: N signed `message.im` events posted concurrently to bolt's /slack/events
endpoint (real bolt app, real aiohttp server, real HTTP), the Web API answered by the local fake.

Reports ack latency (time until Slack would get its HTTP 200; Slack's limit is 3 s) and end-to-end
tickets/s: from the first request until every ticket exists and every outbox post (acknowledgement +
queue card) has been delivered to the fake API.

    .venv/bin/python bench/slack_http.py [--events 2000] [--in-flight 50]

`--rate R` paces the events instead, open loop: event i is sent at i/R s whether or not the earlier ones
were answered (as Slack sends them), for `--duration` seconds, and each ack's latency counts from the moment
the event was due. The same events go first to a bare aiohttp handler that only answers 200 — the ceiling
of this machine at that moment — then to the desk; ack p50/p99, the share acked after 100 ms and our
process's CPU per event are printed for both, with the load average.

    .venv/bin/python bench/slack_http.py --rate 300 [--duration 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the fake Slack API lives in tests/fakes


from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import settings_from_dict
from bot.delivery import DeliveryWorker
from bot.ports import SystemClock
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
                        "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body) or "",
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


class Rows:
    """Counts read from the database file on a connection of its own (the store port runs no raw queries),
    off the event loop; one connection, as polling every 10 ms must cost next to nothing."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def _one(self, query: str) -> int:
        return int(self.conn.execute(query).fetchone()[0])

    async def count(self, table: str) -> int:
        return await asyncio.to_thread(self._one, f"SELECT count(*) FROM {table}")

    async def delivered(self) -> int:
        return await asyncio.to_thread(self._one, "SELECT count(*) FROM outbox WHERE state = 'delivered'")

    def close(self) -> None:
        self.conn.close()


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
            rows = Rows(Path(tmp) / "bench.db")
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
            while (posts := await rows.delivered()) < expected_posts:
                if opened_at is None and await rows.count("tickets") >= events:
                    opened_at = time.perf_counter() - started
                await asyncio.sleep(0.01)
                if time.perf_counter() - started > 300:
                    raise SystemExit(f"only {posts} of {expected_posts} posts after 300 s")
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
            delivering.cancel()
            await adapter.close()
            tickets = await rows.count("tickets")
            rows.close()
    slack.terminate()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"Slack HTTP mode: {events} signed message events, {in_flight} in flight")
    print(
        f"  ack latency      p50 {statistics.median(latencies) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms   "
        f"max {latencies[-1] * 1000:6.1f} ms"
    )
    print(f"  all acked in     {acked:6.2f} s")
    print(f"  tickets          {tickets}, all opened after {opened_at or total:.2f} s")
    print(f"  end to end       {total:6.2f} s  = {events / total:6.0f} tickets/s (incl. {posts} posts delivered)")
    print(f"  our process CPU  {cpu:6.2f} s  = {cpu / events * 1000:.2f} ms per ticket (bolt + desk + delivery)")


# --- paced, open loop (--rate) ----------------------------------------------------------------------------

SLOW_MS = 100.0  # the target: Slack acks within 100 ms at p99


async def send_paced(url: str, bodies: list[str], rate: float) -> tuple[list[float], list[float], list[int]]:
    """Event i at i/rate seconds, each in its own task (open loop). Each ack's latency counts from the
    moment its event was due; `lags` is how late the sender itself was in sending it."""
    verifier = SignatureVerifier(SECRET)
    latencies: list[float] = []
    lags: list[float] = []
    failures: list[int] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def send(body: str, due: float) -> None:
            lags.append(time.perf_counter() - due)
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body) or "",
            }
            async with session.post(url, data=body, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    failures.append(r.status)
            latencies.append(time.perf_counter() - due)

        sending: list[asyncio.Task[None]] = []
        start = time.perf_counter() + 0.05
        for i, body in enumerate(bodies):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sending.append(asyncio.create_task(send(body, due)))
        await asyncio.gather(*sending)
    return latencies, lags, failures


def paced_side(rate: float, events: int, pipe: Connection) -> None:
    """Slack's side for `--rate`: the fake Web API, and the paced sender, run against each port it is
    given (the ceiling's, then the desk's) until it is given None."""

    async def run() -> None:
        api = FakeSlackApi(
            users={f"U{i:08d}": f"Customer {i}" for i in range(events)},
            channels={"CQUEUE": {"id": "CQUEUE", "name": "support-queue", "is_member": True}},
        )
        await api.start()
        pipe.send(api.api_url)
        bodies = [envelope(i) for i in range(events)]
        while (port := await asyncio.to_thread(pipe.recv)) is not None:
            pipe.send(await send_paced(f"http://127.0.0.1:{port}/slack/events", bodies, rate))
        await api.stop()

    asyncio.run(run())


async def bare_ceiling(ours: Connection) -> tuple[list[float], list[float], float]:
    """The same paced events answered by an aiohttp handler that reads the body and returns 200: what this
    machine's HTTP stack costs at that rate, nothing of bolt or the desk."""

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/slack/events", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    cpu_before = time.process_time()
    ours.send(port)
    latencies, lags, failures = await asyncio.to_thread(ours.recv)
    cpu = time.process_time() - cpu_before
    await runner.cleanup()
    assert not failures, failures
    return latencies, lags, cpu


def percentiles(latencies: list[float]) -> tuple[float, float, float, float]:
    """p50, p99 and max in ms, and the share of acks slower than SLOW_MS."""
    ordered = sorted(latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    slow = sum(1 for x in ordered if x * 1000 > SLOW_MS) / len(ordered)
    return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000, slow


async def paced(rate: float, duration: float) -> None:
    events = int(rate * duration)
    ours, theirs = multiprocessing.Pipe()
    slack = multiprocessing.Process(target=paced_side, args=(rate, events, theirs), daemon=True)
    slack.start()
    api_url = await asyncio.to_thread(ours.recv)
    load_before = os.getloadavg()
    ceiling, ceiling_lags, ceiling_cpu = await bare_ceiling(ours)

    raw = {"slack": {"enabled": True, "mode": "http", "api_base_url": api_url, "queue_channel": "CQUEUE"}}
    settings = settings_from_dict(raw, {"slack": SlackConfig})
    config = settings.adapters["slack"]
    assert isinstance(config, SlackConfig)
    with tempfile.TemporaryDirectory() as tmp:
        async with open_store(Path(tmp) / "bench.db") as db:
            rows = Rows(Path(tmp) / "bench.db")
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
            latencies, lags, failures = await asyncio.to_thread(ours.recv)
            load_during = os.getloadavg()
            acked_cpu = time.process_time() - cpu_before
            while (posts := await rows.delivered()) < 2 * events:
                await asyncio.sleep(0.01)
                if time.perf_counter() - started > 300:
                    raise SystemExit(f"only {posts} of {2 * events} posts after 300 s")
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
            tickets = await rows.count("tickets")
            rows.close()
            delivering.cancel()
            await adapter.close()
    ours.send(None)
    slack.join(10)
    assert not failures, f"{len(failures)} events not acknowledged with 200: {Counter(failures)}"

    print(f"Slack HTTP mode: {events} signed message events paced at {rate:g}/s for {duration:g} s (open loop)")
    print("  ack latency from each event's due time   p50        p99        max   > 100 ms   CPU per event")
    for name, measured, spent in (
        ("bare aiohttp, 200 only (ceiling)", ceiling, ceiling_cpu),
        ("ThreadDesk", latencies, acked_cpu),
    ):
        p50, p99, top, slow = percentiles(measured)
        print(f"  {name:34} {p50:7.1f} ms {p99:7.1f} ms {top:7.1f} ms {slow:8.1%}   {spent / events * 1000:.2f} ms")
    print(
        f"  sender lag p99 (ceiling / ThreadDesk) {percentiles(ceiling_lags)[1]:.1f} ms / {percentiles(lags)[1]:.1f} ms"
        " (counted in the latencies above)"
    )
    print(
        f"  tickets          {tickets}, all {2 * events} posts delivered after {total:.2f} s; our process CPU "
        f"{cpu / events * 1000:.2f} ms per event until then (bolt + inbox + desk + delivery)"
    )
    print(
        "  load average     1/5/15 min "
        + " / ".join(f"{x:.2f}" for x in load_before)
        + " before, "
        + " / ".join(f"{x:.2f}" for x in load_during)
        + " when the last event was acked"
    )
    p99 = percentiles(latencies)[1]
    print(f"  p99 <= {SLOW_MS:.0f} ms at {rate:g}/s: {'held' if p99 <= SLOW_MS else 'NOT held'} (p99 {p99:.1f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--rate", type=float, help="events per second, paced (open loop) instead of a burst")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of paced events (with --rate)")
    args = parser.parse_args()
    if args.rate:
        asyncio.run(paced(args.rate, args.duration))
    else:
        asyncio.run(main(args.events, args.in_flight))
