"""Slack HTTP mode under load: N signed `message.im` events posted concurrently to bolt's /slack/events
endpoint (real bolt app, real aiohttp server, real HTTP), the Web API answered by the local fake.

Reports ack latency (time until Slack would get its HTTP 200; Slack's limit is 3 s) and end-to-end
tickets/s: from the first request until every ticket exists and every outbox post (acknowledgement +
queue card) has been delivered to the fake API.

    .venv/bin/python bench/slack_http.py [--events 2000] [--in-flight 50]

`--rate R` paces the events instead, open loop: event i is sent at i/R s whether or not the earlier ones
were answered (as Slack sends them), for `--duration` seconds; the sender and the fake Web API run in
processes of their own, and how late the sender was against its schedule is printed beside each latency.
The same events go first to a bare aiohttp handler that only answers 200 — the ceiling of this machine at
that moment — then to the desk keeping each message in its inbox but handling none (the inbox's own cost),
then to the desk as it runs; ack p50/p99, the share acked after 100 ms and our process's CPU per event are
printed for each, with the load average.

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
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the fake Slack API lives in tests/fakes


from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import Secrets, SlackConfig
from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import Settings, settings_from_dict
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
            worker = DeliveryWorker(db, {"slack": adapter.platform}, desk.ctx.clock, acks=desk.acks)
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
SLACK_DEADLINE_S = 3.0  # Slack resends an event not acknowledged by then


async def send_paced(url: str, bodies: list[str], rate: float) -> tuple[list[float], list[float], list[int]]:
    """Event i at i/rate seconds, each in its own task (open loop). An ack's latency counts from the moment
    its request went out, as Slack measures it; `lags` is how late the sender itself was in sending (it
    shares the machine; Slack's senders do not)."""
    verifier = SignatureVerifier(SECRET)
    latencies: list[float] = []
    lags: list[float] = []
    failures: list[int] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def send(body: str, due: float) -> None:
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body) or "",
            }
            sent = time.perf_counter()
            lags.append(sent - due)
            async with session.post(url, data=body, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    failures.append(r.status)
            latencies.append(time.perf_counter() - sent)

        sending: list[asyncio.Task[None]] = []
        start = time.perf_counter() + 0.05
        for i, body in enumerate(bodies):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sending.append(asyncio.create_task(send(body, due)))
        await asyncio.gather(*sending)
    return latencies, lags, failures


def web_api_side(events: int, pipe: Connection) -> None:
    """Slack's Web API (the fake) for `--rate`, in a process of its own: the desk's posts and look-ups must
    not slow the event sender down."""

    async def run() -> None:
        api = FakeSlackApi(
            users={f"U{i:08d}": f"Customer {i}" for i in range(events)},
            channels={"CQUEUE": {"id": "CQUEUE", "name": "support-queue", "is_member": True}},
        )
        await api.start()
        pipe.send(api.api_url)
        await asyncio.to_thread(pipe.recv)
        await api.stop()

    asyncio.run(run())


def sender_side(rate: float, events: int, pipe: Connection) -> None:
    """Slack's event sender for `--rate`: the paced events to each port it is given (the ceiling's, then the
    desk's), until it is given None."""

    async def run() -> None:
        bodies = [envelope(i) for i in range(events)]
        while (port := await asyncio.to_thread(pipe.recv)) is not None:
            pipe.send(await send_paced(f"http://127.0.0.1:{port}/slack/events", bodies, rate))

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


@dataclass
class PacedRun:
    latencies: list[float]
    lags: list[float]
    cpu: float  # our process, while the events were being sent and acknowledged
    total: float = 0.0  # until every post was delivered
    total_cpu: float = 0.0
    tickets: int = 0


async def desk_run(ours: Connection, settings: Settings, events: int, *, handle: bool) -> PacedRun:
    """The paced events to the real bolt app and desk (its own database). `handle=False` keeps each message in
    the inbox before the ack, as always, but handles none: the inbox's own cost, without the tickets' work."""
    config = settings.adapters["slack"]
    assert isinstance(config, SlackConfig)
    with tempfile.TemporaryDirectory() as tmp:
        async with open_store(Path(tmp) / "bench.db") as db:
            rows = Rows(Path(tmp) / "bench.db")
            adapter = SlackAdapter(config, Secrets(BOT_TOKEN, SECRET, APP_TOKEN))
            kb = await open_knowledge_base(settings, db, SystemClock())
            desk = build_desk(settings, db, kb=kb, clock=SystemClock())
            if not handle:

                async def kept_only(*_: object) -> None:
                    return None

                setattr(adapter.listeners, "_receive", kept_only)  # noqa: B010  (a bench-only stand-in)
            adapter.attach(desk)
            port = await adapter.start_http("127.0.0.1", 0)
            worker = DeliveryWorker(db, {"slack": adapter.platform}, desk.ctx.clock, acks=desk.acks)
            delivering = asyncio.create_task(worker.run())
            started = time.perf_counter()
            cpu_before = time.process_time()
            ours.send(port)
            latencies, lags, failures = await asyncio.to_thread(ours.recv)
            run = PacedRun(latencies, lags, time.process_time() - cpu_before)
            assert not failures, f"{len(failures)} events not acknowledged with 200: {Counter(failures)}"
            while handle and (posts := await rows.delivered()) < 2 * events:
                await asyncio.sleep(0.01)
                if time.perf_counter() - started > 300:
                    raise SystemExit(f"only {posts} of {2 * events} posts after 300 s")
            run.total = time.perf_counter() - started
            run.total_cpu = time.process_time() - cpu_before
            run.tickets = await rows.count("tickets" if handle else "inbox")
            rows.close()
            delivering.cancel()
            await adapter.close()
    return run


async def paced(rate: float, duration: float) -> None:
    events = int(rate * duration)
    to_api, api_end = multiprocessing.Pipe()
    web_api = multiprocessing.Process(target=web_api_side, args=(events, api_end), daemon=True)
    web_api.start()
    ours, theirs = multiprocessing.Pipe()
    sender = multiprocessing.Process(target=sender_side, args=(rate, events, theirs), daemon=True)
    sender.start()
    api_url = await asyncio.to_thread(to_api.recv)
    raw = {"slack": {"enabled": True, "mode": "http", "api_base_url": api_url, "queue_channel": "CQUEUE"}}
    settings = settings_from_dict(raw, {"slack": SlackConfig})
    load_before = os.getloadavg()
    ceiling = PacedRun(*await bare_ceiling(ours))
    kept = await desk_run(ours, settings, events, handle=False)
    full = await desk_run(ours, settings, events, handle=True)
    load_after = os.getloadavg()
    ours.send(None)
    to_api.send(None)
    sender.join(10)
    web_api.join(10)

    print(f"Slack HTTP mode: {events} signed message events paced at {rate:g}/s for {duration:g} s (open loop)")
    print(
        "  ack latency                                 p50        p99        max   > 100 ms   CPU/event  sender lag p99"
    )
    for name, run in (
        ("bare aiohttp, 200 only (ceiling)", ceiling),
        ("ThreadDesk, kept in the inbox only", kept),
        ("ThreadDesk", full),
    ):
        p50, p99, top, slow = percentiles(run.latencies)
        print(
            f"  {name:37} {p50:7.1f} ms {p99:7.1f} ms {top:7.1f} ms {slow:8.1%}   "
            f"{run.cpu / events * 1000:5.2f} ms   {percentiles(run.lags)[1]:6.1f} ms"
        )
    print(f"  (inbox only: {kept.tickets} messages kept, none handled; sender lag: how late the sender itself sent)")
    print(
        f"  ThreadDesk: {full.tickets} tickets, all {2 * events} posts delivered after {full.total:.2f} s; our process "
        f"CPU {full.total_cpu / events * 1000:.2f} ms per event until then (bolt + inbox + desk + delivery)"
    )
    print(
        "  load average 1/5/15 min: "
        + " / ".join(f"{x:.2f}" for x in load_before)
        + " before, "
        + " / ".join(f"{x:.2f}" for x in load_after)
        + " after"
    )
    p99 = percentiles(full.latencies)[1]
    late = sum(1 for x in full.latencies if x > SLACK_DEADLINE_S) / events
    print(
        f"  p99 <= {SLOW_MS:.0f} ms at {rate:g}/s: {'held' if p99 <= SLOW_MS else 'NOT held'} (p99 {p99:.1f} ms); "
        f"acked after Slack's {SLACK_DEADLINE_S:g} s deadline (Slack would resend): {late:.1%}"
    )


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
