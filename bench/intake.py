"""Intake throughput: new customer messages through the core (rules, KB suggestions, ticket, history, message
log, acknowledgement and queue card into the outbox), `--in-flight` callers at a time, beside a ceiling
measured in the same run.

The ceiling replays *the same statements* — recorded from a second, identical run of the core, with their
parameters — on a plain `sqlite3` connection in one thread, committing in batches of the size the core's
group commit reached. So `ratio` is the share of the bare database speed the core keeps.

    .venv/bin/python bench/intake.py [--messages 10000] [--in-flight 16] [--kb on|off] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bootstrap import build_desk, open_knowledge_base  # noqa: E402
from bot.config import PlatformChannels, settings_from_dict  # noqa: E402
from bot.domain.inbound import IncomingMessage  # noqa: E402
from bot.domain.refs import UserRef  # noqa: E402
from bot.ports import SystemClock  # noqa: E402
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


async def core(
    path: Path, n: int, in_flight: int, kb: bool, words: list[str], *, record: bool = False
) -> dict[str, Any]:
    settings = settings_from_dict(
        {
            "intake": {"max_open_per_customer": 0, "rules": [{"match": r"\b(down|outage)\b", "priority": "urgent"}]},
            "kb": {"suggestions": 3 if kb else 0},
            "bench": {"queue_channel": "queue", "leads_channel": "leads"},
        },
        {"bench": PlatformChannels},
    )
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, default=16, help="callers submitting at once (default 16)")
    parser.add_argument("--kb", choices=("on", "off"), default="on", help="KB suggestions from the sample KB")
    parser.add_argument("--traffic", choices=("varied", "burst"), default="varied", help="what customers write")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
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
