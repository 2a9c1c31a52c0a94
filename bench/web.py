"""Dashboard page timings with 100,000 tickets in the store.

Builds (once, cached in the temp folder) a database of 100,000 tickets over 120 days — ~7 % open, 25
agents, tags, categories, SLA alerts, and a history of events and messages for every ticket (3–14 messages
each, internal notes among them) — then serves the real dashboard (aiohttp, in this process) and times
requests from a signed-in client, one at a time:

- server time: measured by a middleware around the whole application (session lookup, role check, the
  reads, template rendering) — the figure the target is about;
- client time: request sent → body read, over loopback;
- raw ceilings in the same run: the page's main SQL statement alone (plain sqlite3 on the same file), and
  a bare aiohttp handler answering "ok" (the HTTP floor);
- CPU per request: process CPU time over the whole scenario ÷ requests.

    .venv/bin/python bench/web.py [--tickets 100000] [--requests 200] [--db PATH] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession, web

from adapters.web.app import build_app
from adapters.web.session import COOKIE
from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import PlatformChannels, settings_from_dict
from bot.domain.refs import UserRef
from bot.services import web_auth
from bot.storage import open_store
from bot.store.sqlite.connection import to_db

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENTS = [(f"agent{i}", f"Agent {i}") for i in range(25)]
PRIORITIES = ["low"] * 2 + ["normal"] * 5 + ["high"] * 2 + ["urgent"]
CATEGORIES = ["general", "billing", "account", "incident", "shipping"]
TAGS = ["vip", "refund", "bug", "escalated", "self-served", "mobile"]
WORDS = [
    "printer",
    "invoice",
    "password",
    "login",
    "refund",
    "export",
    "screen",
    "slow",
    "crash",
    "order",
    "parcel",
    "card",
    "charge",
    "account",
    "email",
]
ACTIVE = ["new", "open", "open", "pending", "on_hold"]


class Clock:
    def now(self) -> datetime:
        return NOW


def build(path: Path, n: int, seed: int = 11) -> None:
    asyncio.run(_migrate(path))
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    tickets: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []
    messages: list[tuple[object, ...]] = []
    alerts: list[tuple[object, ...]] = []

    def flush() -> None:
        conn.executemany(
            "INSERT INTO tickets (number, subject, description, customer_platform, customer_id, customer_name,"
            " origin_channel, origin_thread, priority, category, tags, status, assignee_id, assignee_name,"
            " created_at, updated_at, first_response_at, resolved_at, closed_at)"
            " VALUES (?, ?, ?, 'bench', ?, ?, 'support', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tickets,
        )
        conn.executemany(
            "INSERT INTO ticket_events (ticket, at, actor_platform, actor_id, actor_name, kind, detail)"
            " VALUES (?, ?, 'bench', ?, ?, ?, '{}')",
            events,
        )
        conn.executemany(
            "INSERT INTO ticket_messages (ticket, at, author_platform, author_id, author_name, author_role,"
            " visibility, body, delivery) VALUES (?, ?, 'bench', ?, ?, ?, ?, ?, 'delivered')",
            messages,
        )
        conn.executemany(
            "INSERT INTO sla_alerts (ticket, target, level, due_at, fired_at) VALUES (?, ?, ?, ?, ?)", alerts
        )
        conn.commit()
        for batch in (tickets, events, messages, alerts):
            batch.clear()

    offsets = sorted(rng.random() * 120 * 86_400 for _ in range(n))
    for number, offset in enumerate(offsets, start=1):
        created = NOW - timedelta(days=120) + timedelta(seconds=offset)
        age_days = (NOW - created).total_seconds() / 86_400
        active = rng.random() < (0.6 if age_days < 10 else 0.02)
        status = rng.choice(ACTIVE) if active else rng.choice(["resolved", "closed", "closed"])
        agent_id, agent_name = rng.choice(AGENTS) if status != "new" else (None, None)
        customer = f"c{rng.randrange(40_000)}"
        subject = " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
        tags = [t for t in TAGS if rng.random() < 0.08]
        c = to_db(created)
        done = to_db(created + timedelta(hours=rng.expovariate(1 / 20))) if not active else None
        tickets.append((
            number, subject, subject + " — more detail from the customer.", customer, customer.upper(),
            f"t{number}", rng.choice(PRIORITIES), rng.choice(CATEGORIES), '["' + '","'.join(tags) + '"]' if tags
            else "[]", status, agent_id, agent_name, c, done or c, c if agent_id else None, done, done,
        ))  # fmt: skip
        events.append((number, c, customer, customer.upper(), "opened"))
        for k in range(rng.randrange(3, 15)):
            at = to_db(created + timedelta(minutes=10 * k))
            if k % 3 == 1 and agent_id:
                events.append((number, at, agent_id, agent_name, "replied"))
                messages.append((number, at, agent_id, agent_name, "agent", "public", f"Reply {k}: " + subject))
            elif k % 5 == 4 and agent_id:
                events.append((number, at, agent_id, agent_name, "noted"))
                messages.append((number, at, agent_id, agent_name, "agent", "internal", f"Note {k}"))
            else:
                messages.append((number, at, customer, customer.upper(), "customer", "public", subject))
        if active and rng.random() < 0.1:
            level = rng.choice(["warning", "breach"])
            alerts.append((number, "resolution", level, c, c))
        if len(tickets) >= 20_000:
            flush()
    flush()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


async def _migrate(path: Path) -> None:
    async with open_store(path):
        pass


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(share * len(ordered) + 0.999999) - 1)]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    path = args.db or Path(tempfile.gettempdir()) / f"threaddesk-web-bench-{args.tickets}.db"
    if args.rebuild or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        started = time.perf_counter()
        await asyncio.to_thread(build, path, args.tickets)
        print(f"built {args.tickets:,} tickets in {time.perf_counter() - started:.0f} s → {path}")
    settings = settings_from_dict(
        {"roles": {"leads": ["bench:lead"]}, "web": {"enabled": True}, "bench": {"queue_channel": "queue"}},
        {"bench": PlatformChannels},
    )
    server_ms: list[float] = []

    @web.middleware
    async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            server_ms.append(1000 * (time.perf_counter() - started))

    async with open_store(path) as db:
        kb = await open_knowledge_base(settings, db, Clock())
        desk = build_desk(settings, db, kb=kb, clock=Clock())
        assert desk.ctx.dashboard is not None
        link = await web_auth.issue_link(db, Clock(), desk.ctx.dashboard, UserRef(platform="bench", id="lead"))
        redeemed = await web_auth.redeem_link(db, Clock(), desk.ctx.dashboard, link.rsplit("/", 1)[1])
        assert not isinstance(redeemed, web_auth.LinkProblem)
        cookie = redeemed[0]
        app = build_app(desk, settings.web)
        app.middlewares.insert(0, timing)

        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app.router.add_get("/bare", ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        raw = sqlite3.connect(path)
        rng = random.Random(3)
        async with ClientSession(cookies={COOKIE: cookie}) as client:
            async with client.get(base + "/queue") as r:
                body = await r.text()
                assert r.status == 200, body[:300]
            live_stamp = re.search(r'data-stamp="([^"]+)"', body).group(1)  # type: ignore[union-attr]
            urgency = "priority_rank"  # a generated column since schema 13 (the CASE before)
            active = "status NOT IN ('resolved', 'closed')"
            # schema 16 indexes the search (FTS5 trigram) and the tags (`ticket_tags`): the raw statements are
            # the ones the store sends on a file that has them, the scans before
            indexed = raw.execute("SELECT 1 FROM sqlite_master WHERE name = 'tickets_fts'").fetchone() is not None
            tagged = (
                "EXISTS (SELECT 1 FROM ticket_tags WHERE tag = 'vip' AND ticket = tickets.number)"
                if indexed
                else "EXISTS (SELECT 1 FROM json_each(tickets.tags) WHERE value='vip')"
            )
            texts = "subject LIKE '%{0}%' OR description LIKE '%{0}%' OR customer_name LIKE '%{0}%'"
            lookup = "number IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH '\"{0}\"') AND "
            rare = (lookup if indexed else "") + f"({texts})"
            scenarios: list[tuple[str, Callable[[], str], str | None]] = [
                ("bare aiohttp handler (HTTP floor)", lambda: "/bare", None),
                (
                    "queue: open tickets, most urgent first",
                    lambda: "/queue",
                    f"SELECT * FROM tickets WHERE {active} ORDER BY {urgency}, created_at, number LIMIT 50",
                ),
                (
                    "queue: all 100k, most urgent first",
                    lambda: "/queue?status=all",
                    f"SELECT * FROM tickets ORDER BY {urgency}, created_at, number LIMIT 50",
                ),
                (
                    "queue: all, page 1,000 of 2,000",
                    lambda: "/queue?status=all&sort=newest&page=1000",
                    "SELECT * FROM tickets ORDER BY created_at DESC, number DESC LIMIT 50 OFFSET 49950",
                ),
                (
                    "queue: open + high + one agent",
                    lambda: f"/queue?priority=high&assignee=agent{rng.randrange(25)}",
                    f"SELECT * FROM tickets WHERE {active} AND priority='high' AND assignee_id='agent3'"
                    f" ORDER BY {urgency}, created_at, number LIMIT 50",
                ),
                (
                    "queue: open + tag",
                    lambda: "/queue?tag=vip",
                    f"SELECT * FROM tickets WHERE {active} AND {tagged}"
                    f" ORDER BY {urgency}, created_at, number LIMIT 50",
                ),
                (
                    "queue: SLA breached",
                    lambda: "/queue?sla=breached",
                    None,
                ),
                (
                    "queue: text search over all 100k",
                    lambda: f"/queue?status=all&q={rng.choice(WORDS)}",
                    "SELECT * FROM tickets WHERE subject LIKE '%refund%' OR description LIKE '%refund%'"
                    f" ORDER BY {urgency}, created_at, number LIMIT 50",
                ),
                (
                    "queue: search a customer (c1234: ~30 tickets)",
                    lambda: f"/queue?status=all&q=c{rng.randrange(1000, 4000)}",
                    f"SELECT * FROM tickets WHERE {rare.format('c1234')} ORDER BY {urgency}, created_at, number"
                    " LIMIT 50",
                ),
                (
                    "queue: search a word no ticket has",
                    lambda: f"/queue?status=all&q=zebra{rng.randrange(100)}",
                    f"SELECT * FROM tickets WHERE {rare.format('zebra7')} ORDER BY {urgency}, created_at, number"
                    " LIMIT 50",
                ),
                ("queue live check, nothing changed (204)", lambda: f"/queue/rows?stamp={live_stamp}", None),
                (
                    "ticket page (random ticket)",
                    lambda: f"/tickets/{rng.randrange(1, args.tickets + 1)}",
                    "SELECT * FROM ticket_messages WHERE ticket = 5000 ORDER BY id",
                ),
            ]
            print(
                f"{args.tickets:,} tickets · {args.requests} requests per row, one at a time · "
                "server = whole app incl. session + role check + rendering"
            )
            print(f"{'page':45} {'server p50':>10} {'p99':>8} {'client p99':>10} {'CPU/req':>8} {'raw SQL':>8}")
            for name, make, sql in scenarios:
                server_ms.clear()
                client_ms: list[float] = []
                cpu = time.process_time()
                for _ in range(args.requests):
                    started = time.perf_counter()
                    async with client.get(base + make()) as r:
                        await r.read()
                        assert r.status in (200, 204), (name, r.status)
                    client_ms.append(1000 * (time.perf_counter() - started))
                cpu_ms = 1000 * (time.process_time() - cpu) / args.requests
                raw_ms = ""
                if sql:
                    samples = []
                    for _ in range(20):
                        t = time.perf_counter()
                        raw.execute(sql).fetchall()
                        samples.append(1000 * (time.perf_counter() - t))
                    raw_ms = f"{statistics.median(samples):.1f}"
                print(
                    f"{name:45} {statistics.median(server_ms):10.1f} {pct(server_ms, 0.99):8.1f}"
                    f" {pct(client_ms, 0.99):10.1f} {cpu_ms:8.1f} {raw_ms:>8}"
                )
        raw.close()
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
