"""Intake throughput: new customer messages through the core (rules, KB suggestions, ticket, history, message
log, acknowledgement and queue card into the outbox), `--in-flight` callers at a time, beside a ceiling
measured in the same run.

The ceiling replays *the same statements* — recorded from a second, identical run of the core, with their
parameters — on a plain `sqlite3` connection in one thread, committing in batches of the size the core's
group commit reached. So `ratio` is the share of the bare database speed the core keeps.

With `--store postgresql://…` the desk is on PostgreSQL instead (each pass in a fresh schema of that database,
dropped afterwards), run by `--processes` N processes — each its own pool and desk, with `--in-flight` callers,
taking every N-th message — started together. Its ceiling: the units of work those processes ran in a second,
identical run (each transaction as a transaction, each read as it was), replayed on as many plain asyncpg
connections as their pools had (10 each), every connection a loop taking the next unit. An insert that drew an
identity (a ticket number, a message id) is replayed with that value written out, so the units need no order.

    .venv/bin/python bench/intake.py [--messages 10000] [--in-flight 16] [--kb on|off] [--json]
    .venv/bin/python bench/intake.py --store postgresql://postgres@127.0.0.1:5432/test --processes 4
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import pickle
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bootstrap import build_desk, open_knowledge_base  # noqa: E402
from bot.config import PlatformChannels, settings_from_dict  # noqa: E402
from bot.domain.inbound import IncomingMessage  # noqa: E402
from bot.domain.refs import UserRef  # noqa: E402
from bot.ports import SystemClock  # noqa: E402
from bot.store.postgres.engine import PostgresStore  # noqa: E402
from bot.store.sqlite.engine import SqliteStore  # noqa: E402
from bot.store.sqlite.unit_of_work import SqliteUnitOfWork  # noqa: E402
from kb.loader import load_directory  # noqa: E402

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
# the shared data beside the checkout, or beside the worktrees' folder (a worktree lives one level deeper)
CLINC = (
    next(
        (p for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared") if (p / "data" / "clinc150").is_dir()),
        ROOT.parent / "shared",
    )
    / "data"
    / "clinc150"
    / "data_dev.json"
)
ENGINE_ONLY = ("SAVEPOINT", "RELEASE", "ROLLBACK TO")  # the engine's per-unit bookkeeping, not the work

Statement = tuple[str, tuple[Any, ...]]


class Recording:
    """A sqlite3 connection that also keeps every statement it runs, with its parameters."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.statements: list[Statement] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        self.statements.append((sql, tuple(params)))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        rows = [tuple(r) for r in rows]
        self.statements.extend((sql, r) for r in rows)
        return self._conn.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def texts(traffic: str) -> list[str]:
    """`burst`: ten complaints over and over, as in an outage (incident detection compares every report).
    `varied`: ordinary traffic — CLINC150's training utterances, shuffled across its 150 intents (where the
    data is not at hand, the sample KB's wordings)."""
    if traffic == "burst":
        return PHRASES
    if CLINC.is_file():
        found = [text for text, _ in json.loads(CLINC.read_text())["train"]]
    else:
        found = [w for a in load_directory(ROOT / "kb" / "sample").articles for w in (a.title, *a.aliases)]
    random.Random(7).shuffle(found)
    return found


def message(i: int, words: list[str]) -> IncomingMessage:
    return IncomingMessage(
        platform="bench",
        message_id=f"m{i}",
        author=UserRef(platform="bench", id=f"u{i}", name=f"Customer {i}"),
        channel=f"dm-{i}",
        text=f"{words[i % len(words)]} (order {i})",
        is_direct=True,
    )


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def bench_settings(kb: bool) -> Any:
    return settings_from_dict(
        {
            "intake": {"max_open_per_customer": 0, "rules": [{"match": r"\b(down|outage)\b", "priority": "urgent"}]},
            "kb": {"suggestions": 3 if kb else 0},
            "bench": {"queue_channel": "queue", "leads_channel": "leads"},
        },
        {"bench": PlatformChannels},
    )


async def core(
    path: Path, n: int, in_flight: int, kb: bool, words: list[str], *, record: bool = False
) -> dict[str, Any]:
    settings = bench_settings(kb)
    async with SqliteStore.open(path) as store:
        library = await open_knowledge_base(settings, store, SystemClock()) if kb else None
        desk = build_desk(settings, store, kb=library)
        recording = None
        if record:  # every statement from here on, the engine's BEGIN/COMMIT included
            recording = Recording(store._writer)
            store._writer = recording  # type: ignore[assignment]
            store._write_uow = SqliteUnitOfWork(recording)  # type: ignore[arg-type]
        latencies: list[float] = []
        queue = iter(range(n))

        async def caller() -> None:
            for i in queue:
                t0 = time.perf_counter()
                ticket = await desk.receive(message(i, words))
                latencies.append((time.perf_counter() - t0) * 1000)
                assert ticket is not None

        commits_before = store.commits
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        commits = store.commits - commits_before
    return {
        "tickets_per_s": n / elapsed,
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
        "cpu_ms_per_ticket": cpu * 1000 / n,
        "tickets_per_commit": n / max(1, commits),
        "statements": recording.statements if recording else None,
    }


def ceiling(path: Path, statements: list[Statement], n: int) -> dict[str, Any]:
    """Replay the core's statements on plain sqlite3, one thread, the same transactions (so the same batches)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    work = [(sql, params) for sql, params in statements if not sql.startswith(ENGINE_ONLY)]
    per_ticket = sum(1 for sql, _ in work if sql not in ("BEGIN IMMEDIATE", "COMMIT")) / n
    cpu0, t0 = time.process_time(), time.perf_counter()
    for sql, params in work:
        conn.execute(sql, params).fetchall()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    conn.close()
    return {"tickets_per_s": n / elapsed, "cpu_ms_per_ticket": cpu * 1000 / n, "statements_per_ticket": per_ticket}


# --- PostgreSQL ----------------------------------------------------------------------------------------------

#: an insert that returns the identity it drew: recorded with that value written out, so a replay in another
#: order (or beside other connections) gives every row the number the statements after it refer to
RETURNING_IDENTITY = re.compile(
    r"^\s*INSERT INTO (\w+) \(([^)]*)\)\s*VALUES \((.*)\)\s*RETURNING (number|id)\s*$", re.DOTALL
)
#: connections in each process's pool (the engine's default `[store] pool_size`)
POOL = 10
#: a unit of work as replayed: (ran in a transaction?, its statements)
Unit = tuple[bool, list[Statement]]


class RecordingConnection:
    """A pooled asyncpg connection that also keeps every statement a unit of work runs, with its parameters."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.statements: list[Statement] = []
        self.transactional = False

    def transaction(self, **options: Any) -> Any:
        self.transactional = True
        return self._conn.transaction(**options)

    async def execute(self, sql: str, *args: Any, **options: Any) -> Any:
        self.statements.append((sql, args))
        return await self._conn.execute(sql, *args, **options)

    async def executemany(self, sql: str, rows: Any, **options: Any) -> Any:
        rows = [tuple(r) for r in rows]
        self.statements.extend((sql, r) for r in rows)
        return await self._conn.executemany(sql, rows, **options)

    async def fetch(self, sql: str, *args: Any, **options: Any) -> Any:
        self.statements.append((sql, args))
        return await self._conn.fetch(sql, *args, **options)

    async def fetchrow(self, sql: str, *args: Any, **options: Any) -> Any:
        self.statements.append((sql, args))
        return await self._conn.fetchrow(sql, *args, **options)

    async def fetchval(self, sql: str, *args: Any, **options: Any) -> Any:
        value = await self._conn.fetchval(sql, *args, **options)
        insert = RETURNING_IDENTITY.match(sql)
        if insert and value is not None:
            table, columns, values, identity = insert.groups()
            sql = (
                f"INSERT INTO {table} ({identity}, {columns}) VALUES (${len(args) + 1}, {values}) RETURNING {identity}"
            )
            args = (*args, value)
        self.statements.append((sql, args))
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def record_units(store: PostgresStore) -> list[Unit]:
    """From now on, each unit of work `store` runs is kept, in the order the units end (a transaction's after
    its COMMIT). Units that fail are not kept (they were rolled back)."""
    units: list[Unit] = []
    opened = store._connection

    @asynccontextmanager
    async def connection() -> AsyncIterator[Any]:
        async with opened() as conn:
            unit = RecordingConnection(conn)
            yield unit
            if unit.statements:
                units.append((unit.transactional, unit.statements))

    store._connection = connection  # type: ignore[method-assign]
    return units


async def _backend_cpu(store: PostgresStore) -> dict[int, float]:
    """CPU seconds so far of each server process serving this store's connections (the server is local). Read
    on the pool itself, past the units of work (and so past a recording)."""
    pids = await store._pool.fetch("SELECT pid FROM pg_stat_activity WHERE application_name = $1", store.claimant)
    return {pid: _pid_cpu(pid) for (pid,) in pids}


async def pg_process(
    url: str,
    schema: str,
    k: int,
    processes: int,
    n: int,
    in_flight: int,
    kb: bool,
    traffic: str,
    record: Path | None,
    start: Barrier,
) -> dict[str, Any]:
    """One of the `processes`: its own pool and desk, the messages k, k+N, k+2N, …, started with the others."""
    words = texts(traffic)
    settings = bench_settings(kb)
    async with PostgresStore.open(url, schema=schema, pool_size=POOL) as store:
        library = await open_knowledge_base(settings, store, SystemClock()) if kb else None
        desk = build_desk(settings, store, kb=library)
        warm = [await store._pool.acquire() for _ in range(POOL)]  # the whole pool connected before the start
        for conn in warm:
            await store._pool.release(conn)
        units = record_units(store) if record else None
        latencies: list[float] = []
        queue = iter(range(k, n, processes))

        async def caller() -> None:
            for i in queue:
                t0 = time.perf_counter()
                ticket = await desk.receive(message(i, words))
                latencies.append((time.perf_counter() - t0) * 1000)
                assert ticket is not None

        server0 = await _backend_cpu(store)
        start.wait()
        cpu0, began = time.process_time(), time.time()
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        ended, cpu = time.time(), time.process_time() - cpu0
        server1 = await _backend_cpu(store)
    if record is not None and units is not None:
        record.write_bytes(pickle.dumps(units))
    return {
        "began": began,
        "ended": ended,
        "latencies": latencies,
        "cpu": cpu,
        "server_cpu": sum(v - server0.get(pid, 0.0) for pid, v in server1.items()),
    }


def _pg_child(args: tuple[Any, ...], out: Any) -> None:
    out.send(asyncio.run(pg_process(*args)))


@asynccontextmanager
async def fresh_schema(url: str, kb: bool) -> AsyncIterator[str]:
    """A new schema, migrated (and its knowledge base seeded) before any process starts; dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        async with PostgresStore.open(url, schema=schema, listen=False) as store:
            if kb:
                await open_knowledge_base(bench_settings(kb), store, SystemClock())
        yield schema
    finally:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


async def pg_core(
    url: str, processes: int, n: int, in_flight: int, kb: bool, traffic: str, folder: Path | None = None
) -> dict[str, Any]:
    """N processes on one fresh schema; throughput over the span from the first start to the last finish."""
    spawn = multiprocessing.get_context("spawn")
    async with fresh_schema(url, kb) as schema:
        start = spawn.Barrier(processes)
        pipes, children = [], []
        for k in range(processes):
            record = folder / f"units-{k}.pickle" if folder else None
            mine, theirs = spawn.Pipe(duplex=False)
            child = spawn.Process(
                target=_pg_child,
                args=((url, schema, k, processes, n, in_flight, kb, traffic, record, start), theirs),
            )
            child.start()
            pipes.append(mine)
            children.append(child)
        loop = asyncio.get_running_loop()
        results = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
        for child in children:
            child.join()
        load = os.getloadavg()[0]
    elapsed = max(r["ended"] for r in results) - min(r["began"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "tickets_per_s": n / elapsed,
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
        "cpu_ms_per_ticket": sum(r["cpu"] for r in results) * 1000 / n,
        "server_cpu_ms_per_ticket": sum(r["server_cpu"] for r in results) * 1000 / n,
        "load_average": load,
    }


async def pg_ceiling(url: str, kb: bool, recorded: list[list[Unit]], n: int) -> dict[str, Any]:
    """The recorded units on as many plain asyncpg connections as the processes' pools had, each connection a
    loop taking the next unit (every process's units in their order, the processes' interleaved)."""
    units = iter([u for group in itertools.zip_longest(*recorded) for u in group if u is not None])
    async with fresh_schema(url, kb) as schema:
        conns = [
            await asyncpg.connect(url, server_settings={"search_path": schema}) for _ in range(POOL * len(recorded))
        ]
        for conn in conns:
            for kind in ("jsonb", "json"):  # as the engine's pool does
                await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

        async def replay(conn: asyncpg.Connection) -> None:
            for transactional, statements in units:
                if transactional:
                    async with conn.transaction():
                        for sql, params in statements:
                            await conn.fetch(sql, *params)
                else:
                    for sql, params in statements:
                        await conn.fetch(sql, *params)

        server0 = [_pid_cpu(conn.get_server_pid()) for conn in conns]
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(replay(conn) for conn in conns))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        server = sum(_pid_cpu(conn.get_server_pid()) for conn in conns) - sum(server0)
        load = os.getloadavg()[0]
        for conn in conns:
            await conn.close()
    statements = sum(len(s) for group in recorded for _, s in group)
    return {
        "tickets_per_s": n / elapsed,
        "cpu_ms_per_ticket": cpu * 1000 / n,
        "server_cpu_ms_per_ticket": server * 1000 / n,
        "statements_per_ticket": statements / n,
        "load_average": load,
    }


def _pid_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


async def pg_main(args: argparse.Namespace) -> None:
    kb = args.kb == "on"
    measured = await pg_core(args.store, args.processes, args.messages, args.in_flight, kb, args.traffic)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # the same run again, recording (the recording costs a little, so it is not the measured one)
        await pg_core(args.store, args.processes, args.messages, args.in_flight, kb, args.traffic, folder)
        recorded = [pickle.loads((folder / f"units-{k}.pickle").read_bytes()) for k in range(args.processes)]
    raw = await pg_ceiling(args.store, kb, recorded, args.messages)
    result = {
        "store": "postgresql",
        "processes": args.processes,
        "messages": args.messages,
        "in_flight": args.in_flight,
        "kb": args.kb,
        "traffic": args.traffic,
        "tickets_per_s": round(measured["tickets_per_s"]),
        "p50_ms": round(measured["p50_ms"], 2),
        "p99_ms": round(measured["p99_ms"], 2),
        "cpu_ms_per_ticket": round(measured["cpu_ms_per_ticket"], 3),
        "server_cpu_ms_per_ticket": round(measured["server_cpu_ms_per_ticket"], 3),
        "load_average": round(measured["load_average"], 2),
        "ceiling_tickets_per_s": round(raw["tickets_per_s"]),
        "ceiling_cpu_ms_per_ticket": round(raw["cpu_ms_per_ticket"], 3),
        "ceiling_server_cpu_ms_per_ticket": round(raw["server_cpu_ms_per_ticket"], 3),
        "ceiling_load_average": round(raw["load_average"], 2),
        "statements_per_ticket": round(raw["statements_per_ticket"], 1),
        "ratio": round(measured["tickets_per_s"] / raw["tickets_per_s"], 3),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"PostgreSQL, {args.processes} process(es) × {args.in_flight} in flight, messages {args.messages:,}, "
        f"KB {args.kb}, {args.traffic} traffic"
    )
    print(
        f"core    : {result['tickets_per_s']:7,} tickets/s   p50 {result['p50_ms']:6.2f} ms   p99 "
        f"{result['p99_ms']:6.2f} ms   {result['cpu_ms_per_ticket']:.3f} ms CPU/ticket "
        f"(+ {result['server_cpu_ms_per_ticket']:.3f} ms server)   load {result['load_average']}"
    )
    print(
        f"ceiling : {result['ceiling_tickets_per_s']:7,} tickets/s   {result['ceiling_cpu_ms_per_ticket']:.3f} ms "
        f"CPU/ticket (+ {result['ceiling_server_cpu_ms_per_ticket']:.3f} ms server)   "
        f"({result['statements_per_ticket']} statements/ticket, {POOL * args.processes} plain asyncpg connections)"
    )
    print(f"ratio   : {result['ratio']:.3f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, default=16, help="callers submitting at once (default 16)")
    parser.add_argument("--kb", choices=("on", "off"), default="on", help="KB suggestions from the sample KB")
    parser.add_argument("--traffic", choices=("varied", "burst"), default="varied", help="what customers write")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--store", help="postgresql://… : run on PostgreSQL (fresh schemas of that database)")
    parser.add_argument(
        "--processes", type=int, default=1, help="PostgreSQL: desk processes, messages split between them"
    )
    args = parser.parse_args()
    if args.store:
        await pg_main(args)
        return
    if args.processes != 1:
        parser.error("--processes needs --store postgresql://…")
    kb = args.kb == "on"
    words = texts(args.traffic)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        measured = await core(folder / "core.db", args.messages, args.in_flight, kb, words)
        # the same run again, recording (the recording costs a little, so it is not the measured one)
        recorded = await core(folder / "recorded.db", args.messages, args.in_flight, kb, words, record=True)
        # the ceiling starts from the same state the recording started from: schema (and articles) only
        schema_only = folder / "ceiling.db"
        async with SqliteStore.open(schema_only) as store:
            if kb:
                settings = settings_from_dict({}, {})
                await open_knowledge_base(settings, store, SystemClock())
        raw = ceiling(schema_only, recorded["statements"], args.messages)
    result = {
        "messages": args.messages,
        "in_flight": args.in_flight,
        "kb": args.kb,
        "traffic": args.traffic,
        "tickets_per_s": round(measured["tickets_per_s"]),
        "p50_ms": round(measured["p50_ms"], 2),
        "p99_ms": round(measured["p99_ms"], 2),
        "cpu_ms_per_ticket": round(measured["cpu_ms_per_ticket"], 3),
        "tickets_per_commit": round(measured["tickets_per_commit"], 1),
        "ceiling_tickets_per_s": round(raw["tickets_per_s"]),
        "ceiling_cpu_ms_per_ticket": round(raw["cpu_ms_per_ticket"], 3),
        "statements_per_ticket": round(raw["statements_per_ticket"], 1),
        "ratio": round(measured["tickets_per_s"] / raw["tickets_per_s"], 3),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"messages {args.messages:,}, {args.in_flight} in flight, KB {args.kb}, {args.traffic} traffic")
    print(
        f"core    : {result['tickets_per_s']:7,} tickets/s   p50 {result['p50_ms']:6.2f} ms   p99 "
        f"{result['p99_ms']:6.2f} ms   {result['cpu_ms_per_ticket']:.3f} ms CPU/ticket   "
        f"{result['tickets_per_commit']} tickets/commit"
    )
    print(
        f"ceiling : {result['ceiling_tickets_per_s']:7,} tickets/s   {result['ceiling_cpu_ms_per_ticket']:.3f} ms "
        f"CPU/ticket   ({result['statements_per_ticket']} statements/ticket, plain sqlite3, same transactions)"
    )
    print(f"ratio   : {result['ratio']:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
