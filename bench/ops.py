"""Operations timings on a big database: online backup, a /metrics scrape, a /readyz check, and erasing
one customer — each beside a raw ceiling measured in the same run.

Builds (once, cached in the temp folder) bench/digest.py's database of N tickets over a year of history and
adds three messages of ~200 characters per ticket, then times through the real code:

- `threaddesk db backup` (VACUUM INTO + integrity check) vs copying the file's bytes (no consistency);
- a /metrics scrape (database counts + exposition) and a /readyz check vs one `SELECT COUNT(*)`;
- `threaddesk customer forget` of a customer with 5 tickets (secure_delete, WAL checkpoint and truncate).

    .venv/bin/python bench/ops.py [--tickets 100000] [--rebuild] [--only backup|scrape|forget ...]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digest import NOW, Clock, build

from bot import storage as backups
from bot.health import Probe
from bot.services import privacy
from bot.storage import open_store
from bot.store.sqlite.connection import to_db

BODY = "The export to CSV stops at 10,000 rows and the file it writes cannot be opened in our spreadsheet. " * 2


def add_messages(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    numbers = [r[0] for r in conn.execute("SELECT number FROM tickets")]
    rows = [
        (n, to_db(NOW), "bench", f"c{n % 20_000}", "Customer", role, "public", BODY, "delivered")
        for n in numbers
        for role in ("customer", "agent", "customer")
    ]
    conn.executemany(
        "INSERT INTO ticket_messages (ticket, at, author_platform, author_id, author_name, author_role, visibility,"
        " body, delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    # one customer with five tickets to erase
    conn.execute("UPDATE tickets SET customer_platform='bench', customer_id='erase-me' WHERE number <= 5")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


async def median_ms(fn: Callable[[], Awaitable[object]], runs: int = 20) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def scrape(path: Path) -> tuple[float, float, float, float]:
    async with open_store(path) as db:
        probe = Probe(db, Clock(NOW))
        probe.platforms["bench"] = lambda: True
        first = await median_ms(probe.metrics, runs=1)
        metrics = await median_ms(probe.metrics)
        ready = await median_ms(probe.readiness)

    raw_conn = sqlite3.connect(path)

    async def count() -> None:
        raw_conn.execute("SELECT COUNT(*) FROM tickets").fetchone()

    raw = await median_ms(count)
    raw_conn.close()
    return first, metrics, ready, raw


async def forget(path: Path) -> float:
    async with open_store(path) as db:
        started = time.perf_counter()
        found = await privacy.forget(db, Clock(NOW), "bench", "erase-me", dry_run=False)
        assert len(found.tickets) == 5
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--only", nargs="+", choices=("backup", "scrape", "forget"), default=("backup", "scrape", "forget")
    )
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / "threaddesk-bench-ops"
    folder.mkdir(exist_ok=True)
    source = folder / f"ops-{args.tickets}.db"
    if args.rebuild or not source.exists():
        for stale in folder.glob(f"ops-{args.tickets}.db*"):
            stale.unlink()
        build(source, args.tickets)
        add_messages(source)
    work = folder / "work.db"
    for stale in folder.glob("work.db*"):
        stale.unlink()
    shutil.copyfile(source, work)
    size_mb = work.stat().st_size / 1_048_576
    versions = f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}"
    print(f"database: {args.tickets:,} tickets, {size_mb:.0f} MB ({versions})")

    target, copy = folder / "backup.db", folder / "copy.db"
    for stale in (target, copy):
        stale.unlink(missing_ok=True)
    if "backup" in args.only:
        wall, cpu = timed(lambda: backups.backup(work, target))
        raw_wall, _ = timed(lambda: shutil.copyfile(work, copy))
        print(
            f"db backup:   {wall:6.2f} s wall, {cpu:6.2f} s CPU ({size_mb / wall:5.0f} MB/s, "
            f"{cpu / size_mb * 1000:.1f} ms CPU/MB)   raw file copy: {raw_wall:5.2f} s ({size_mb / raw_wall:5.0f} MB/s)"
        )
    if "scrape" in args.only:
        first, metrics, ready, raw = asyncio.run(scrape(work))
        print(
            f"/metrics:    first scrape {first:7.1f} ms (whole history, in slices), then {metrics:6.1f} ms median"
            f"   /readyz: {ready:6.2f} ms   raw SELECT COUNT(*) FROM tickets: {raw:6.2f} ms"
        )
    if "forget" in args.only:
        erase = asyncio.run(forget(work))
        print(f"customer forget (5 tickets): {erase * 1000:6.1f} ms")
    for stale in (target, copy, *folder.glob("work.db*")):
        stale.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
