"""The ticket aggregate: fields, priorities, statuses and the one lifecycle table."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from bot.domain.errors import IllegalTransition
from bot.domain.refs import MessageRef, ThreadRef, UserRef


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)

    def raised(self) -> Priority:
        """One step more urgent (urgent stays urgent)."""
        order = list(Priority)
        return order[min(self.rank + 1, len(order) - 1)]


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_active(self) -> bool:
        """Active tickets are the ones the team still has to work on."""
        return self not in (Status.RESOLVED, Status.CLOSED)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


_WORKING = (Status.OPEN, Status.PENDING, Status.ON_HOLD)

#: The lifecycle, in one place: status -> statuses a ticket may move to with `/ticket status` (or a
#: button). Two moves have their own commands because they carry more than a status: resolving needs a
#: summary (`/ticket resolve`, from any of _WORKING or new), and reopening (`/ticket reopen`, from REOPENABLE).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({*_WORKING, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.CLOSED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
RESOLVABLE: frozenset[Status] = frozenset({Status.NEW, *_WORKING})
REOPENABLE: frozenset[Status] = frozenset({Status.RESOLVED, Status.CLOSED})


def check_transition(number: int, current: Status, target: Status) -> None:
    """Raise `IllegalTransition` with the reason and what to do instead."""
    if current == target:
        raise IllegalTransition(f"#{number} is already {current.label}.")
    if target in TRANSITIONS[current]:
        return
    if target == Status.NEW:
        raise IllegalTransition(f"#{number} can't go back to new — use `/ticket status {number} open`.")
    if target == Status.RESOLVED and current in RESOLVABLE:
        raise IllegalTransition(
            f"#{number} is {current.label} — resolving needs a summary: `/ticket resolve {number} <summary>`."
        )
    if current in REOPENABLE:
        raise IllegalTransition(f"#{number} is {current.label} — use `/ticket reopen {number}` first.")
    allowed = ", ".join(s.value for s in sorted(TRANSITIONS[current], key=list(Status).index))
    raise IllegalTransition(f"#{number} is {current.label}; it can move to: {allowed}.")


class Ticket(BaseModel):
    number: int
    subject: str
    description: str
    customer: UserRef
    origin: ThreadRef
    priority: Priority = Priority.NORMAL
    category: str = "general"
    tags: tuple[str, ...] = ()
    status: Status = Status.NEW
    assignee: UserRef | None = None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution_summary: str | None = None
    card: MessageRef | None = None
    resolved_by_kb: str | None = Field(default=None, description="article id when a suggestion solved it")

    @property
    def ref(self) -> str:
        return f"#{self.number}"

    def age(self, now: datetime) -> str:
        return humanize_duration(now - self.created_at)


def humanize_duration(delta: timedelta) -> str:
    """`3d 4h`, `2h 5m`, `4m`, `just now` — what people want on a queue card."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "just now"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def humanize_span(delta: timedelta) -> str:
    """A duration that reads after "in", "by", "for" or before "late": `under a minute`, never `just now`."""
    text = humanize_duration(delta)
    return "under a minute" if text == "just now" else text
