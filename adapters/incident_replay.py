"""`threaddesk incidents replay FILE`: run a recorded stream of reports through intake and incident detection.

Input: JSON Lines, one report per line: `{"id": …, "at": ISO 8601, "customer": …, "text": …}` (an `at`
without a zone is UTC; lines are replayed in `at` order, ties in file order).
Output: `{"incidents": [{"id", "title", "members": [report ids…], "detected_at"}], "unlinked": [report ids…]}`.

Each run is a fresh in-memory store on a clock that jumps to each report's `at`, with the configured
`[incidents]` thresholds and `auto_create` on (a replay has nobody to press "Create incident"). Every
report opens its own ticket (no per-customer limit: the stream's customers are synthetic) and nothing is
suggested, so what is measured is grouping alone. The configured knowledge base is loaded only when
`[incidents] kb_topics` and `semantic` are on: then its articles tell the reports' subjects apart (`kb.topics`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import PlatformChannels, Settings
from bot.domain.inbound import IncomingMessage
from bot.domain.refs import UserRef
from bot.storage import open_store

PLATFORM = "replay"


class StreamError(ValueError):
    """A stream line that is not a report; the message names the line and what is wrong."""


@dataclass(frozen=True)
class Report:
    id: str
    at: datetime
    customer: str
    text: str


def parse_line(line: str, number: int) -> Report:
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise StreamError(f"line {number}: not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise StreamError(f"line {number}: expected an object with id, at, customer, text")
    missing = [key for key in ("id", "at", "customer", "text") if key not in raw]
    if missing:
        raise StreamError(f"line {number}: missing {', '.join(missing)}")
    try:
        at = datetime.fromisoformat(str(raw["at"]))
    except ValueError:
        raise StreamError(
            f"line {number}: at {raw['at']!r} is not an ISO 8601 time (e.g. 2026-11-02T09:00:00Z)"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return Report(id=str(raw["id"]), at=at, customer=str(raw["customer"]), text=str(raw["text"]))


def read_stream(lines: Iterable[str]) -> list[Report]:
    reports = [parse_line(line, n) for n, line in enumerate(lines, start=1) if line.strip()]
    ids = [r.id for r in reports]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
        raise StreamError(f"id {dup!r} appears more than once; every report needs its own id")
    return sorted(reports, key=lambda r: r.at)


class ReplayClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current


def replay_settings(settings: Settings) -> Settings:
    incidents = settings.incidents.model_copy(update={"auto_create": True, "enabled": True})
    return settings.model_copy(
        update={
            "incidents": incidents,
            "intake": settings.intake.model_copy(update={"max_open_per_customer": 0}),
            "kb": settings.kb.model_copy(update={"suggestions": 0}),
            "adapters": {PLATFORM: PlatformChannels(enabled=True)},
            "sla": settings.sla.model_copy(update={"enabled": False}),
        }
    )


async def replay(settings: Settings, reports: Sequence[Report]) -> dict[str, Any]:
    """Run `reports` and return the incidents and the reports no incident linked."""
    if not reports:
        return {"incidents": [], "unlinked": []}
    clock = ReplayClock(reports[0].at)
    by_ticket: dict[int, str] = {}
    settings = replay_settings(settings)
    async with open_store(":memory:") as db:
        reads_articles = settings.incidents.resolved(settings.kb.semantic).reads_articles
        kb = await open_knowledge_base(settings, db, clock) if reads_articles else None
        desk = build_desk(settings, db, kb=kb, clock=clock)
        for report in reports:
            clock.current = report.at
            customer = UserRef(platform=PLATFORM, id=report.customer, name=report.customer)
            ticket = await desk.receive(
                IncomingMessage(
                    platform=PLATFORM,
                    message_id=report.id,
                    author=customer,
                    channel=f"dm-{report.customer}",
                    text=report.text,
                    is_direct=True,
                )
            )
            if ticket is not None:
                by_ticket[ticket.number] = report.id
        async with db.reading() as uow:
            found = sorted(await uow.incidents.list_incidents(open_only=False, limit=1_000_000), key=lambda i: i.id)
            members = {i.id: await uow.incidents.linked_tickets(i.id) for i in found}
    linked: set[str] = set()
    out = []
    for incident in found:
        ids = [by_ticket[n] for n in members[incident.id] if n in by_ticket]
        linked.update(ids)
        out.append(
            {
                "id": incident.id,
                "title": incident.title,
                "members": ids,
                "detected_at": incident.created_at.isoformat().replace("+00:00", "Z"),
            }
        )
    return {"incidents": out, "unlinked": [r.id for r in reports if r.id not in linked]}


def read_file(path: Path) -> list[Report]:
    try:
        with path.open(encoding="utf-8") as handle:
            return read_stream(handle)
    except FileNotFoundError:
        raise StreamError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise StreamError(f"{path} is not UTF-8 text") from None
