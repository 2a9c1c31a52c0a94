"""What the store hands the core and takes from it: plain records and query shapes, the same for every
engine (the repositories in `bot.repositories` speak in these)."""

from __future__ import annotations

import math
import os
import socket
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bot.domain.incident import IncidentUpdate
from bot.domain.refs import UserRef
from bot.domain.sla import ResolutionClock
from bot.domain.ticket import Priority, Status
from bot.outbound import Destination, Message

ERASED = "[erased]"  # what an erasure writes in place of a person's words and name
DIGEST_PREFIX = "digest:"  # the name of a scheduled digest job starts so
SORTS = ("urgent", "oldest", "newest", "updated")
"""Queue orders (`QueueFilter.sort`); `urgent` (most urgent, then oldest) is the chat queue's order too."""
COUNT_CAP = 10_000  # a queue page counts matching tickets up to this many


@dataclass(frozen=True)
class Version:
    version: int
    at: datetime
    actor: str
    change: str


@dataclass(frozen=True)
class Learned:
    id: int
    text: str
    source: str
    ticket: int | None
    at: datetime


@dataclass(frozen=True)
class ArticleStats:
    article: str
    title: str
    suggested: int
    accepted: int
    rejected: int
    helped_resolve: int


@dataclass(frozen=True)
class Survey:
    ticket: int
    rating: int | None
    comment: str | None
    rated_at: datetime | None


@dataclass(frozen=True)
class WaitingMessage:
    """A chat message in the durable inbox: taken in, not handled yet."""

    payload: str  # the `IncomingMessage` as JSON
    received_at: datetime
    attempts: int  # reads for handling, this one included


@dataclass(frozen=True)
class Conversation:
    """Where a ticket's customer talks to the desk (its origin): a channel, and the thread when in one."""

    channel: str
    thread: str | None
    opened_at: datetime  # when the ticket was opened


@dataclass(frozen=True)
class TakenIn:
    ticket: int | None  # the ticket the message opened or joined, when its log still names it


@dataclass(frozen=True)
class LoggedUpdate:
    update: IncidentUpdate
    visibility: str


class IncidentReport(NamedTuple):
    """A report as incident detection reads it, up to 200 for every new ticket (so a named tuple, built
    several times faster than a frozen dataclass, and without the moment, which detection does not use)."""

    ticket: int
    customer: str
    text: str
    rule: str | None


@dataclass(frozen=True)
class Holder:
    token: str  # unique per process and start
    host: str
    pid: int
    since: datetime
    expires: datetime

    def describe(self) -> str:
        return f"host {self.host}, pid {self.pid}, since {self.since:%Y-%m-%d %H:%M:%S} UTC"

    @property
    def gone(self) -> bool:
        """This host's process that held the lease no longer exists (it crashed or was killed)."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False


@dataclass(frozen=True)
class OutboxRow:
    id: int
    destination: Destination
    message: Message
    ticket: int | None
    log_message: int | None
    version: int
    attempts: int
    created_at: datetime
    #: a send began then and its outcome was never recorded (the process died): look before posting again
    sending_since: datetime | None = None


@dataclass
class Erasure:
    """What an erasure changed (or, in a dry run, would change)."""

    tickets: list[int] = field(default_factory=list)  # theirs
    other_tickets: list[int] = field(default_factory=list)  # others' tickets they wrote in
    messages: int = 0
    names: int = 0
    history_texts: int = 0
    learned_wordings: int = 0
    ratings_comments: int = 0
    posts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "other_tickets": self.other_tickets,
            "messages": self.messages,
            "names": self.names,
            "history_texts": self.history_texts,
            "learned_wordings": self.learned_wordings,
            "rating_comments": self.ratings_comments,
            "posts": self.posts,
        }


@dataclass(frozen=True)
class StoredClock:
    clock: ResolutionClock
    first_response_due: datetime | None
    resolution_due: datetime | None


@dataclass(frozen=True)
class TicketQuery:
    statuses: Sequence[Status] = ()
    priorities: Sequence[Priority] = ()
    customer: UserRef | None = None
    assignee: UserRef | None = None
    unassigned: bool = False
    limit: int = 50


@dataclass(frozen=True)
class Event:
    ticket: int
    at: datetime
    actor: UserRef
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class LoggedMessage:
    id: int
    ticket: int
    at: datetime
    author: UserRef
    author_role: str
    visibility: str
    body: str
    delivery: str


@dataclass(frozen=True)
class Timer:
    ticket: int
    kind: str
    due_at: datetime
    attempt: int


@dataclass(frozen=True)
class Job:
    name: str
    kind: str
    spec: dict[str, Any]
    due_at: datetime
    last_run_at: datetime | None


@dataclass(frozen=True)
class LinkRow:
    id: str
    user: UserRef
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class SessionRow:
    token_hash: str
    user: UserRef
    csrf: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    user_agent: str


@dataclass(frozen=True)
class QueueFilter:
    statuses: Sequence[Status] = ()
    priorities: Sequence[Priority] = ()
    category: str | None = None
    assignee: str | None = None  # a user id on the customer's platform
    tag: str | None = None
    unassigned: bool = False
    sla: str | None = None  # "at_risk" | "breached"
    text: str | None = None
    sort: str = "urgent"
    page: int = 1
    per_page: int = 50
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    id: int
    endpoint: str
    event_type: str
    event_id: str
    ticket: int | None
    state: str  # pending | delivered | failed
    attempts: int
    last_error: str | None
    answer: str | None  # e.g. "HTTP 200" once delivered
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime
    body: str


class BackupError(Exception):
    """A backup or restore that cannot be done, worded for the operator."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    schema_version: int
    counts: dict[str, int]
    size: int


# the team-lead report (bot.store.*.reports computes it; README "Metric definitions" defines it)
@dataclass(frozen=True)
class Spread:
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(None, None)
        ordered = sorted(values)
        return cls(round(statistics.median(ordered), 1), round(percentile(ordered, 0.9), 1))


def percentile(ordered: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values: the smallest value with at least `share` of them ≤ it."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Csat:
    average: float | None
    responses: int
    requests: int


@dataclass(frozen=True)
class AgentStats:
    assigned_open: int
    resolved: int
    first_response_minutes_median: float | None


@dataclass(frozen=True)
class Waiting:
    number: int
    subject: str
    priority: str
    created_at: datetime


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    created: int
    resolved: int
    closed: int
    reopened: int
    open_by_status: dict[str, int]
    open_by_priority: dict[str, int]
    unassigned: int
    first_response_minutes: Spread
    resolution_minutes: Spread
    reopen_rate: float | None
    sla_breached: int
    csat: Csat
    deflected: int
    per_agent: dict[str, AgentStats]
    # digest extras, not part of the JSON report's contract
    at_risk: int = 0
    breached_open: int = 0
    oldest_waiting: tuple[Waiting, ...] = ()
    resolved_by_priority: dict[str, int] = field(default_factory=dict)
    #: macro name → times applied in the period, most used first
    macros: dict[str, int] = field(default_factory=dict)
    incidents: IncidentStats | None = None

    @property
    def open_total(self) -> int:
        return sum(self.open_by_status.values())

    def to_json(self) -> dict[str, Any]:
        """The report's stable JSON shape: other tools read these keys."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "created": self.created,
            "resolved": self.resolved,
            "closed": self.closed,
            "reopened": self.reopened,
            "open_by_status": self.open_by_status,
            "open_by_priority": self.open_by_priority,
            "unassigned": self.unassigned,
            "first_response_minutes": _spread(self.first_response_minutes),
            "resolution_minutes": _spread(self.resolution_minutes),
            "reopen_rate": self.reopen_rate,
            "sla_breached": self.sla_breached,
            "csat": {"average": self.csat.average, "responses": self.csat.responses, "requests": self.csat.requests},
            "deflected": self.deflected,
            "per_agent": {
                name: {
                    "assigned_open": a.assigned_open,
                    "resolved": a.resolved,
                    "first_response_minutes_median": a.first_response_minutes_median,
                }
                for name, a in sorted(self.per_agent.items())
            },
            "macros": self.macros,
            "incidents": (self.incidents or IncidentStats(0, 0, 0, None, None)).to_json(),
        }


def _spread(s: Spread) -> dict[str, float | None]:
    return {"median": s.median, "p90": s.p90}


@dataclass(frozen=True)
class Daily:
    days: tuple[str, ...]
    created: tuple[int, ...]
    resolved: tuple[int, ...]


@dataclass(frozen=True)
class IncidentStats:
    count: int
    linked_tickets: int
    resolved: int
    time_to_detect_minutes: float | None
    time_to_resolve_minutes: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "linked_tickets": self.linked_tickets,
            "median_time_to_detect_minutes": self.time_to_detect_minutes,
            "median_time_to_resolve_minutes": self.time_to_resolve_minutes,
        }


def moment_text(moment: datetime) -> str:
    """A moment in the portable form: UTC ISO-8601 with microseconds and a Z (`2026-11-29T09:12:03.000000Z`)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


@dataclass(frozen=True)
class TableRows:
    """Rows of one table in the form every engine reads and writes (`threaddesk db copy`): SQLite's own —
    moments as UTC ISO-8601 text, structured values as JSON text, flags as 0/1, numbers and text as they are."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
