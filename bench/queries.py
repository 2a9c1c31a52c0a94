"""Queries that grow with the history: the ticket queue, the outbox's due posts, the report's SLA counts.

Fills a fresh database with N tickets (default 1,000,000) at the schema version before these changes,
with plain `sqlite3` and `executemany` (indexes built after the rows): a year of history, ~2 % of
tickets active (most from the last two weeks), priorities 20/50/20/10 % low/normal/high/urgent, 25
agents, closed tickets mostly assigned (12 % nobody's: self-served, auto-closed), two teams (60/40 %),
SLA warnings on ~15 % of tickets and breaches on ~6 %, two delivered outbox posts per closed ticket, and
a backlog of `--pending` posts (a platform that was down: about three per ordering key, some heads due,
some backing off). Then, on that one file:

1. before: each query's old SQL text (kept below, verbatim) on that version;
2. the migration to the current schema, timed;
3. after: the SQL the store emits now, imported from `bot/store/sqlite` (what the bot runs).

Each phase also times raw ceilings: the same number of rows read straight off the primary key, and the
active-ticket count read from the status index (the least any count over open tickets must read).
Before and after return the same rows (checked). Figures: p50/p99 wall time over up to `--repeats` runs
(fewer when a query would exceed `--budget` seconds; `n` says how many) and CPU per query (process time
÷ runs: SQLite runs in this thread, so that is all of it). No `ANALYZE` is run: the bot never runs it, so
the planner works without statistics here as it does in production.

    .venv/bin/python bench/queries.py [--tickets 1000000] [--pending 10000] [--repeats 200] [--budget 10]
                                      [--db PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.ticket import Priority, Status
from bot.records import QueueFilter, TicketQuery
from bot.store.sqlite.connection import _statements, connect, migrate, schema_version, to_db
from bot.store.sqlite.outbox import due_sql
from bot.store.sqlite.reports import AT_RISK, BREACHED_OPEN, SqliteReports
from bot.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from bot.store.sqlite.tickets import list_sql
from bot.store.sqlite.web import page_sql

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
#: the schema version before these changes: the one before the migration that adds `priority_rank`
BEFORE_VERSION = next(i for i, script in enumerate(MIGRATIONS) if "priority_rank" in script)
AGENTS = [(f"agent{i}", f"Agent {i}") for i in range(25)]
PRIORITIES = ["low"] * 2 + ["normal"] * 5 + ["high"] * 2 + ["urgent"]
ACTIVE = ["new", "open", "open", "pending", "on_hold"]
PLATFORMS = ("slack", "discord")
ACTIVE_STATUSES = [s for s in Status if s.is_active]

# --- the SQL before schema 13, verbatim ----------------------------------------------------------------------

OLD_ORDER = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, created_at, number"
OLD_OPEN = "status NOT IN ('resolved', 'closed')"
_OLD_ACTIVE_IN = "status IN ('new','open','pending','on_hold')"
OLD_AT_RISK = (
    f"SELECT COUNT(DISTINCT w.ticket) FROM sla_alerts w JOIN tickets t ON t.number = w.ticket"
    f" WHERE w.level='warning' AND t.{_OLD_ACTIVE_IN} AND NOT EXISTS (SELECT 1 FROM sla_alerts b"
    " WHERE b.ticket = w.ticket AND b.target = w.target AND b.level='breach')"
)
OLD_BREACHED_OPEN = (
    f"SELECT COUNT(DISTINCT b.ticket) FROM sla_alerts b JOIN tickets t ON t.number = b.ticket"
    f" WHERE b.level='breach' AND t.{_OLD_ACTIVE_IN}"
)
OLD_DUE = """SELECT o.* FROM outbox o
               JOIN (SELECT MIN(id) AS id FROM outbox WHERE state='pending' AND platform IN (?,?)
                     GROUP BY ordering_key) head
                 ON head.id = o.id
               WHERE o.next_attempt_at <= ? ORDER BY o.id LIMIT ?"""
OLD_BREACHED_WHERE = (
    f" WHERE {OLD_OPEN} AND number IN (SELECT ticket FROM sla_alerts WHERE level = 'breach') AND {OLD_OPEN}"
)


def old_list_sql(query: TicketQuery) -> tuple[str, list[Any]]:
    """`SqliteTickets.list_tickets` before schema 13 (statuses and priorities bound by value, CASE order)."""
    where: list[str] = []
    args: list[Any] = []
    if query.statuses:
        where.append(f"status IN ({','.join('?' * len(query.statuses))})")
        args.extend(s.value for s in query.statuses)
    if query.priorities:
        where.append(f"priority IN ({','.join('?' * len(query.priorities))})")
        args.extend(p.value for p in query.priorities)
    if query.unassigned:
        where.append("assignee_id IS NULL")
    sql = "SELECT * FROM tickets" + (" WHERE " + " AND ".join(where) if where else "")
    return sql + f" ORDER BY {OLD_ORDER} LIMIT ?", [*args, query.limit]


@contextmanager
def old_team_scope(conn: sqlite3.Connection, team: str) -> Iterator[None]:
    """`SqliteReports._scope` before schema 13: TEMP views filtering on the team's whole ticket list."""
    scope = f"(SELECT ticket FROM main.ticket_routing WHERE team = '{team}')"
    tables = {"tickets": "number", "ticket_events": "ticket", "sla_alerts": "ticket", "csat": "ticket"}
    for table, column in tables.items():
        conn.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM main.{table} WHERE {column} IN {scope}")
    try:
        yield
    finally:
        for table in tables:
            conn.execute(f"DROP VIEW IF EXISTS temp.{table}")


@contextmanager
def no_scope() -> Iterator[None]:
    yield


# --- the file -------------------------------------------------------------------------------------------------


def _at(moment: datetime) -> str:
    """`to_db`'s format for a naive UTC moment (isoformat is ~3x faster than strftime: 2M calls at 1M)."""
    return moment.isoformat(timespec="microseconds") + "Z"


def fill(path: Path, n: int, pending: int, seed: int = 11) -> dict[str, int]:
    """The schema before these changes from the real migration scripts, then the rows, with executemany."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")  # a throwaway file: no rollback journal while filling
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-524288")  # 512 MiB: the thirteen ticket indexes stay in memory
    # tables first, indexes after the rows: building an index from sorted rows is several times faster than
    # thirteen ticket indexes updated row by row
    statements = [s for script in MIGRATIONS[:BEFORE_VERSION] for s in _statements(script)]
    indexes = [s for s in statements if s.upper().startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))]
    for statement in statements:
        if statement not in indexes:
            conn.execute(statement)
    rng = random.Random(seed)
    start = NOW.replace(tzinfo=None) - timedelta(days=365)
    recent_from = NOW.replace(tzinfo=None) - timedelta(days=14)
    tickets: list[tuple[object, ...]] = []
    alerts: list[tuple[object, ...]] = []
    posts: list[tuple[object, ...]] = []
    routing: list[tuple[object, ...]] = []
    active_numbers: list[int] = []
    counts = {"tickets": n, "active": 0, "sla_alerts": 0, "outbox_delivered": 0, "outbox_pending": 0}

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO tickets (number, subject, description, customer_platform, customer_id, customer_name,"
            " origin_channel, origin_thread, priority, category, status, assignee_id, assignee_name,"
            " created_at, updated_at, first_response_at, resolved_at, closed_at)"
            " VALUES (?, 'Bench ticket', 'Something broke.', ?, ?, ?, 'support', ?, ?, 'general', ?, ?, ?,"
            " ?, ?, ?, ?, ?)",
            tickets,
        )
        conn.executemany(
            "INSERT INTO sla_alerts (ticket, target, level, due_at, fired_at) VALUES (?, ?, ?, ?, ?)", alerts
        )
        conn.executemany(
            "INSERT INTO outbox (ordering_key, platform, destination, payload, ticket, state, attempts,"
            " next_attempt_at, created_at, delivered_at, delivered_id)"
            " VALUES (?, ?, '{}', '{}', ?, 'delivered', 1, ?, ?, ?, 'm')",
            posts,
        )
        conn.executemany("INSERT INTO ticket_routing (ticket, team) VALUES (?, ?)", routing)
        conn.execute("COMMIT")
        counts["sla_alerts"] += len(alerts)
        counts["outbox_delivered"] += len(posts)
        for batch in (tickets, alerts, posts, routing):
            batch.clear()

    step = 365 * 86_400 / n
    random_ = rng.random
    for number in range(1, n + 1):
        created = start + timedelta(seconds=(number - 1 + random_()) * step)
        # ~45 % of the last two weeks' tickets are still active, ~0.3 % of older ones: ~2 % overall
        active = random_() < (0.45 if created >= recent_from else 0.003)
        status = rng.choice(ACTIVE) if active else rng.choice(("resolved", "closed", "closed"))
        assigned = status != "new" and (active or random_() < 0.88)  # self-served, auto-closed: nobody's
        agent_id, agent_name = AGENTS[number % 25] if assigned else (None, None)
        platform = PLATFORMS[number % 2]
        c = _at(created)
        done = None if active else _at(created + timedelta(hours=20 * random_()))
        tickets.append((
            number, platform, f"c{number % 50_000}", "Customer", f"t{number}", PRIORITIES[int(random_() * 10)],
            status, agent_id, agent_name, c, done or c, c if assigned else None, done, done,
        ))  # fmt: skip
        routing.append((number, "billing" if random_() < 0.6 else "tech"))
        r = random_()
        if r < 0.15:
            target = "first_response" if r < 0.075 else "resolution"
            alerts.append((number, target, "warning", c, c))
            if r < 0.03 or 0.075 <= r < 0.105:
                alerts.append((number, target, "breach", c, c))
        if active:
            active_numbers.append(number)
            counts["active"] += 1
        else:
            posts.append((f"customer:{platform}:{number}", platform, number, c, c, done))
            posts.append((f"card:{platform}:{number}", platform, number, c, c, done))
        if len(tickets) >= 50_000:
            flush()
    flush()
    # the backlog: pending posts of active tickets, about three per ordering key, oldest first (ids grow)
    keys = [
        (f"{kind}:{PLATFORMS[t % 2]}:{t}", PLATFORMS[t % 2], t)
        for t in rng.sample(active_numbers, min(len(active_numbers), max(1, pending // 6)))
        for kind in ("customer", "card")
    ]
    backlog: list[tuple[object, ...]] = []
    for i in range(pending):
        key, platform, ticket = rng.choice(keys)
        at = NOW - timedelta(minutes=pending - i)
        retry = at + timedelta(minutes=rng.choice((-30, 0, 5, 60)))  # due, or backing off after a 5xx
        backlog.append((key, platform, ticket, to_db(retry), to_db(at)))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO outbox (ordering_key, platform, destination, payload, ticket, attempts, next_attempt_at,"
        " created_at) VALUES (?, ?, '{}', '{}', ?, 1, ?, ?)",
        backlog,
    )
    conn.execute("COMMIT")
    counts["outbox_pending"] = pending
    for statement in indexes:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {BEFORE_VERSION}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return counts


# --- timing ---------------------------------------------------------------------------------------------------

Statement = tuple[str, list[Any]]
Scope = Callable[[sqlite3.Connection], Any]


def _plain(conn: sqlite3.Connection) -> Any:
    return no_scope()


def _old_team(conn: sqlite3.Connection) -> Any:
    return old_team_scope(conn, "billing")


def _new_team(conn: sqlite3.Connection) -> Any:
    return SqliteReports(conn)._scope("billing")


#: (name, old statement, new statement, ceiling, old scope, new scope)
CASES: list[tuple[str, Statement, Statement, str, Scope, Scope]] = [
    (
        "/ticket list: the active queue, 50",
        old_list_sql(TicketQuery(statuses=ACTIVE_STATUSES)),
        list_sql(TicketQuery(statuses=ACTIVE_STATUSES)),
        "tickets",
        _plain,
        _plain,
    ),
    (
        "/ticket list high urgent",
        old_list_sql(TicketQuery(statuses=ACTIVE_STATUSES, priorities=[Priority.HIGH, Priority.URGENT])),
        list_sql(TicketQuery(statuses=ACTIVE_STATUSES, priorities=[Priority.HIGH, Priority.URGENT])),
        "tickets",
        _plain,
        _plain,
    ),
    (
        "/ticket list unassigned",
        old_list_sql(TicketQuery(statuses=ACTIVE_STATUSES, unassigned=True)),
        list_sql(TicketQuery(statuses=ACTIVE_STATUSES, unassigned=True)),
        "tickets",
        _plain,
        _plain,
    ),
    (
        "web queue: open, most urgent, page 1",
        (f"SELECT * FROM tickets WHERE {OLD_OPEN} ORDER BY {OLD_ORDER} LIMIT ? OFFSET ?", [50, 0]),
        page_sql(QueueFilter(statuses=ACTIVE_STATUSES))[0],
        "tickets",
        _plain,
        _plain,
    ),
    (
        "web queue: SLA breached, page 1",
        (f"SELECT * FROM tickets{OLD_BREACHED_WHERE} ORDER BY {OLD_ORDER} LIMIT ? OFFSET ?", [50, 0]),
        page_sql(QueueFilter(statuses=ACTIVE_STATUSES, sla="breached"))[0],
        "tickets",
        _plain,
        _plain,
    ),
    (
        "web queue: SLA breached, count",
        (f"SELECT COUNT(*) FROM (SELECT 1 FROM tickets{OLD_BREACHED_WHERE} LIMIT 10001)", []),
        page_sql(QueueFilter(statuses=ACTIVE_STATUSES, sla="breached"))[1],
        "active count",
        _plain,
        _plain,
    ),
    (
        "outbox due, 200",
        (OLD_DUE, [*PLATFORMS, to_db(NOW), 200]),
        due_sql(NOW, platforms=PLATFORMS, limit=200),
        "posts",
        _plain,
        _plain,
    ),
    ("report: SLA at risk", (OLD_AT_RISK, []), (AT_RISK, []), "active count", _plain, _plain),
    ("report: open tickets breached", (OLD_BREACHED_OPEN, []), (BREACHED_OPEN, []), "active count", _plain, _plain),
    ("team report: SLA at risk", (OLD_AT_RISK, []), (AT_RISK, []), "active count", _old_team, _new_team),
    (
        "team report: open tickets breached",
        (OLD_BREACHED_OPEN, []),
        (BREACHED_OPEN, []),
        "active count",
        _old_team,
        _new_team,
    ),
]
CEILINGS: dict[str, Statement] = {
    "tickets": ("SELECT * FROM tickets ORDER BY number LIMIT 50", []),
    "posts": ("SELECT * FROM outbox ORDER BY id LIMIT 200", []),
    # the active tickets' entries of the status index, counted: what any count over open tickets must read
    "active count": (f"SELECT COUNT(*) FROM tickets WHERE {_OLD_ACTIVE_IN}", []),
}


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(share * len(ordered) + 0.999999) - 1)]


def timed(conn: sqlite3.Connection, statement: Statement, scope: Scope, repeats: int, budget: float) -> dict[str, Any]:
    """p50/p99 wall and CPU per run; also the rows' keys (first column), to compare before with after."""
    sql, args = statement
    with scope(conn):
        rows = conn.execute(sql, args).fetchall()  # warm the cache
        wall: list[float] = []
        cpu = time.process_time()
        stop = time.perf_counter() + budget
        while len(wall) < repeats and (len(wall) < 5 or time.perf_counter() < stop):
            started = time.perf_counter()
            conn.execute(sql, args).fetchall()
            wall.append(1000 * (time.perf_counter() - started))
        cpu_ms = 1000 * (time.process_time() - cpu) / len(wall)
        plan = [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()]
    return {
        "p50_ms": round(statistics.median(wall), 3),
        "p99_ms": round(pct(wall, 0.99), 3),
        "cpu_ms": round(cpu_ms, 3),
        "n": len(wall),
        "rows": len(rows),
        "keys": [r[0] for r in rows],
        "plan": plan,
    }


def phase(conn: sqlite3.Connection, which: str, repeats: int, budget: float) -> dict[str, Any]:
    out: dict[str, Any] = {"ceilings": {}, "queries": {}}
    for name, statement in CEILINGS.items():
        out["ceilings"][name] = timed(conn, statement, _plain, repeats, budget)
    for name, old, new, _, old_scope, new_scope in CASES:
        statement, scope = (old, old_scope) if which == "before" else (new, new_scope)
        out["queries"][name] = timed(conn, statement, scope, repeats, budget)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=10_000, help="outbox posts waiting (default 10,000)")
    parser.add_argument("--repeats", type=int, default=200, help="runs per query at most (default 200)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per query at most (default 10)")
    parser.add_argument("--db", type=Path, default=None, help="build the file here and keep it")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    folder = None
    if args.db is None:
        folder = Path(tempfile.mkdtemp(prefix="threaddesk-queries-"))
    path = args.db or folder / "queries.db"  # type: ignore[operator]
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    try:
        started = time.perf_counter()
        counts = fill(path, args.tickets, args.pending)
        fill_s = time.perf_counter() - started
        conn = connect(path)  # the bot's own connection settings
        assert schema_version(conn) == BEFORE_VERSION
        before = phase(conn, "before", args.repeats, args.budget)
        started = time.perf_counter()
        migrate(conn, path)
        migrate_s = time.perf_counter() - started
        after = phase(conn, "after", args.repeats, args.budget)
        conn.close()
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    for name, *_ in CASES:
        if before["queries"][name]["keys"] != after["queries"][name]["keys"]:
            raise SystemExit(f"{name}: different rows before and after")
    report: dict[str, Any] = {
        "tickets": args.tickets,
        "counts": counts,
        "fill_s": round(fill_s, 1),
        "migration": f"{BEFORE_VERSION} -> {SCHEMA_VERSION}",
        "migrate_s": round(migrate_s, 2),
        "sqlite": sqlite3.sqlite_version,
        "loadavg": [round(x, 1) for x in os.getloadavg()],
        "queries": [],
        "ceilings": {},
    }
    quiet = ("keys", "plan")
    for name, statement in CEILINGS.items():
        report["ceilings"][name] = {
            "sql": statement[0],
            "before": {k: v for k, v in before["ceilings"][name].items() if k not in quiet},
            "after": {k: v for k, v in after["ceilings"][name].items() if k not in quiet},
        }
    for name, _, _, ceiling, _, _ in CASES:
        b, a = before["queries"][name], after["queries"][name]
        report["queries"].append({
            "name": name,
            "before": {k: v for k, v in b.items() if k != "keys"},
            "after": {k: v for k, v in a.items() if k != "keys"},
            "ceiling": ceiling,
            "speedup_p50": round(b["p50_ms"] / a["p50_ms"], 1) if a["p50_ms"] else None,
        })  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{args.tickets:,} tickets ({counts['active']:,} active), {counts['sla_alerts']:,} SLA alerts, "
        f"{counts['outbox_delivered']:,} delivered + {counts['outbox_pending']:,} pending posts · filled in "
        f"{fill_s:.0f} s · migration {BEFORE_VERSION} → {SCHEMA_VERSION} in {migrate_s:.1f} s · "
        f"SQLite {sqlite3.sqlite_version} · load {report['loadavg'][0]}"
    )
    print(
        f"{'ms':38} {'before p50':>10} {'p99':>8} {'CPU':>8} {'n':>4} │ {'after p50':>9} {'p99':>7} {'CPU':>7}"
        f" {'n':>4} │ {'ceiling p50':>11} {'p50 ×':>6}"
    )
    for q in report["queries"]:
        b, a = q["before"], q["after"]
        ceiling = after["ceilings"][q["ceiling"]]["p50_ms"]
        print(
            f"{q['name']:38} {b['p50_ms']:10.2f} {b['p99_ms']:8.2f} {b['cpu_ms']:8.2f} {b['n']:4} │"
            f" {a['p50_ms']:9.2f} {a['p99_ms']:7.2f} {a['cpu_ms']:7.2f} {a['n']:4} │ {ceiling:11.2f}"
            f" {q['speedup_p50']:6.1f}"
        )
    print("ceilings (p50 before / after):")
    for name, c in report["ceilings"].items():
        print(f"  {name:13} {c['before']['p50_ms']:7.2f} / {c['after']['p50_ms']:7.2f} ms   {c['sql']}")


if __name__ == "__main__":
    main()
