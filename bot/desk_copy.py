"""`threaddesk db copy`: a whole desk from one store to another — SQLite to PostgreSQL and back.

Rows travel table by table, in an order that puts every row after the rows it refers to, in the portable
form both engines read and write (`bot.ports.TableRows`: SQLite's own — moments as UTC ISO text, structured
values as JSON text, flags as 0/1). The target must be a new, empty desk. Afterwards the row counts of every
table are compared; the copy is reported done only when they match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.ports import Store

#: Every table of a desk, each after the tables it refers to. Leases are not copied: they belong to the
#: processes running on the source.
TABLES = (
    "tickets",
    "people",
    "inbound",
    "inbox",
    "ticket_events",
    "ticket_messages",
    "outbox",
    "kb_articles",
    "kb_versions",
    "kb_learned",
    "kb_feedback",
    "kb_revision",
    "sla_clocks",
    "timers",
    "sla_alerts",
    "jobs",
    "csat",
    "web_links",
    "web_sessions",
    "macros",
    "macro_versions",
    "ticket_routing",
    "agent_presence",
    "assignment_pointers",
    "team_unstaffed",
    "incidents",
    "incident_links",
    "incident_updates",
    "incident_negatives",
    "incident_reports",
    "read_marks",
)
#: filled in by every new desk's schema; replaced by the source's row
SEEDED = frozenset({"kb_revision"})
BATCH = 2000


class CopyRefused(RuntimeError):
    """The copy cannot start or did not verify; the message is one line naming the fix."""


@dataclass(frozen=True)
class Copied:
    table: str
    source: int
    target: int


async def copy_desk(source: Store, target: Store, progress: Callable[[str, int], None] | None = None) -> list[Copied]:
    """Copy every table of `source` into the empty desk `target`; returns the counts, verified equal."""
    if await source.schema_version() != await target.schema_version():
        raise CopyRefused(
            f"{source.location} is at schema version {await source.schema_version()} and {target.location} at "
            f"{await target.schema_version()} — run `threaddesk db migrate` on the older one first"
        )
    for table in TABLES:
        if table not in SEEDED and await target.count_rows(table):
            raise CopyRefused(
                f"{target.location} already holds a desk ({table} is not empty) — copy into a new, empty database"
            )
    for table in TABLES:
        if table in SEEDED:
            await target.clear_table(table)
        async for batch in source.dump_table(table, BATCH):
            await target.load_table(table, batch)
            if progress is not None:
                progress(table, len(batch.rows))
    await target.after_load()
    counts = [Copied(t, await source.count_rows(t), await target.count_rows(t)) for t in TABLES]
    wrong = [c for c in counts if c.source != c.target]
    if wrong:
        listed = ", ".join(f"{c.table} {c.source} → {c.target}" for c in wrong)
        raise CopyRefused(f"the copy does not match its source ({listed}) — the target is incomplete; drop it")
    return counts
