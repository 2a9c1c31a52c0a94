"""What a change to a ticket did: typed, frozen domain events returned by the `Ticket` methods.

Each event knows the ticket-history row it stands for (`history()`): the same `kind`, the same detail keys in
the same order, so persisting an event writes exactly the row the services write today with
`work.event(kind, **detail)`. `by` names who the row is recorded as done by when that is not the unit of
work's actor (automatic assignment is done by ThreadDesk); None means the actor.

Two events have no history row today and keep it that way: `FirstResponse` (the ticket's
`first_response_at` column is the record) and the `StatusChanged` an agent's first response makes from new to
open (`recorded=False`). `StillClosed` is no row either: it tells the service to answer the customer that the
ticket is closed. Message events (`Replied`, `CustomerMessage`) record a message and change no field.

A persisting loop, mechanical::

    for event in events:
        if (row := event.history()) is not None:
            await work.event(row.kind, by=row.by, **row.detail)
    if changed(events):
        work.touch()
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from bot.domain.refs import UserRef

if TYPE_CHECKING:
    from bot.domain.ticket import Priority, Status


@dataclass(frozen=True)
class HistoryEntry:
    """One `ticket_events` row: `kind`, its JSON `detail` (key order kept) and who it is recorded as done by."""

    kind: str
    detail: dict[str, Any]
    by: UserRef | None = None


@dataclass(frozen=True, kw_only=True)
class TicketEvent:
    """Something that happened to one ticket."""

    #: the history kind this event is written as; None: no history row
    kind: ClassVar[str | None] = None
    #: the event changed a field of the ticket (it must be saved and its card refreshed)
    changes_ticket: ClassVar[bool] = True

    by: UserRef | None = None

    def history_kind(self) -> str | None:
        """The kind of history row this event is written as (None: none)."""
        return self.kind

    def detail(self) -> dict[str, Any]:
        return {}

    def history(self) -> HistoryEntry | None:
        kind = self.history_kind()
        return None if kind is None else HistoryEntry(kind, self.detail(), self.by)


Events = tuple[TicketEvent, ...]


def _with(detail: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """`detail` plus the optional keys that are set (today's rows leave an unset key out, not null)."""
    return {**detail, **{k: v for k, v in optional.items() if v is not None}}


@dataclass(frozen=True, kw_only=True)
class StatusChanged(TicketEvent):
    """`status_changed` {before, after[, reason]} — `reason` None leaves the key out (assignment from new)."""

    kind: ClassVar[str | None] = "status_changed"

    before: Status
    after: Status
    reason: str | None = None
    #: False: no history row (an agent's first response moves new → open silently, as it does today)
    recorded: bool = True

    def detail(self) -> dict[str, Any]:
        return _with({"before": self.before.value, "after": self.after.value}, reason=self.reason)

    def history_kind(self) -> str | None:
        return self.kind if self.recorded else None


@dataclass(frozen=True, kw_only=True)
class Assigned(TicketEvent):
    """`assigned` {before, after[, auto]}: display names; `auto` says how ThreadDesk picked (then `by` is it)."""

    kind: ClassVar[str | None] = "assigned"

    before: UserRef | None
    after: UserRef
    auto: str | None = None

    def detail(self) -> dict[str, Any]:
        before = self.before.display if self.before else None
        return _with({"before": before, "after": self.after.display}, auto=self.auto)


@dataclass(frozen=True, kw_only=True)
class Unassigned(TicketEvent):
    """`unassigned` {before[, reason]}."""

    kind: ClassVar[str | None] = "unassigned"

    before: UserRef
    reason: str | None = None

    def detail(self) -> dict[str, Any]:
        return _with({"before": self.before.display}, reason=self.reason)


@dataclass(frozen=True, kw_only=True)
class FirstResponse(TicketEvent):
    """The ticket got its first response from the team at `at` (no history row: `first_response_at` is it)."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class Replied(TicketEvent):
    """`replied` {visibility: public[, via][, macro]}: an agent's answer to the customer."""

    kind: ClassVar[str | None] = "replied"
    changes_ticket: ClassVar[bool] = False

    via: str | None = None
    macro: str | None = None

    def detail(self) -> dict[str, Any]:
        return _with({"visibility": "public"}, via=self.via, macro=self.macro)


@dataclass(frozen=True, kw_only=True)
class CustomerMessage(TicketEvent):
    """`customer_message` {}: the customer wrote on the ticket."""

    kind: ClassVar[str | None] = "customer_message"
    changes_ticket: ClassVar[bool] = False


@dataclass(frozen=True, kw_only=True)
class StillClosed(TicketEvent):
    """The customer wrote on a closed ticket; it stays closed — tell them so (no history row)."""

    changes_ticket: ClassVar[bool] = False

    number: int

    @property
    def notice(self) -> str:
        return f"#{self.number} is closed — use `/ticket reopen {self.number}` to continue it."


@dataclass(frozen=True, kw_only=True)
class PriorityChanged(TicketEvent):
    """`priority_changed` {before, after}."""

    kind: ClassVar[str | None] = "priority_changed"

    before: Priority
    after: Priority

    def detail(self) -> dict[str, Any]:
        return {"before": self.before.value, "after": self.after.value}


@dataclass(frozen=True, kw_only=True)
class Tagged(TicketEvent):
    """`tagged` {added, removed}: the tags asked for (as today), not only the ones that made a difference."""

    kind: ClassVar[str | None] = "tagged"

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def detail(self) -> dict[str, Any]:
        return {"added": list(self.added), "removed": list(self.removed)}


@dataclass(frozen=True, kw_only=True)
class Escalated(TicketEvent):
    """`escalated` {reason, before, after}: priority one step up and the `escalated` tag."""

    kind: ClassVar[str | None] = "escalated"

    reason: str
    before: Priority
    after: Priority

    def detail(self) -> dict[str, Any]:
        return {"reason": self.reason, "before": self.before.value, "after": self.after.value}


@dataclass(frozen=True, kw_only=True)
class Resolved(TicketEvent):
    """Resolved by an agent: `resolved` {summary, kb[, incident]}; or by the customer accepting a suggested
    article (`by_kb`): `self_served` {article, before}."""

    before: Status
    summary: str
    by_kb: bool = False
    kb: str | None = None
    incident: str | None = None

    kind: ClassVar[str | None] = "resolved"

    def history_kind(self) -> str | None:
        return "self_served" if self.by_kb else "resolved"

    def detail(self) -> dict[str, Any]:
        if self.by_kb:
            return {"article": self.kb, "before": self.before.value}
        return _with({"summary": self.summary, "kb": self.kb}, incident=self.incident)


@dataclass(frozen=True, kw_only=True)
class Reopened(TicketEvent):
    """`reopened` {before, reason}."""

    kind: ClassVar[str | None] = "reopened"

    before: Status
    reason: str

    def detail(self) -> dict[str, Any]:
        return {"before": self.before.value, "reason": self.reason}


def history(events: Iterable[TicketEvent]) -> list[HistoryEntry]:
    """The history rows `events` stand for, in order."""
    return [row for event in events if (row := event.history()) is not None]


def changed(events: Iterable[TicketEvent]) -> bool:
    """Whether any of `events` changed the ticket (save it, refresh its card)."""
    return any(event.changes_ticket for event in events)
