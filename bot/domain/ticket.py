"""The ticket aggregate: fields, priorities, statuses and the one lifecycle table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from bot.domain.errors import IllegalTransition, PermissionDenied
from bot.domain.refs import MessageRef, ThreadRef, UserRef, bot_user
from bot.domain.ticket_events import (
    Assigned,
    CustomerMessage,
    Escalated,
    Events,
    FirstResponse,
    PriorityChanged,
    Reopened,
    Replied,
    Resolved,
    StatusChanged,
    StillClosed,
    Tagged,
    TicketEvent,
    Unassigned,
)


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
#: Two moves happen on their own: the team's first response or an assignment opens a new ticket, and a
#: customer's message reopens a ticket that waited on them or was resolved (REOPENED_BY_CUSTOMER).
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
REOPENED_BY_CUSTOMER: frozenset[Status] = frozenset({Status.PENDING, Status.RESOLVED})
#: The reason recorded when a customer's message reopens a ticket.
CUSTOMER_REPLIED = "customer replied"


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

    # --- behaviour --------------------------------------------------------------------------------------
    # Each method checks the move against the lifecycle, changes the ticket and returns what happened as
    # events (see `ticket_events`); a refused move raises `IllegalTransition` (or `PermissionDenied`) with
    # a message that names the fix, and changes nothing. A method whose change is already made returns no
    # events, so calling it twice is safe — except where a person asked for the move and today's answer is a
    # refusal ("#4 is already closed."): `set_status`, `close`, `resolve` and `reopen` keep refusing. A
    # message (`Replied`, `CustomerMessage`) and an escalation (the leads are alerted) are recorded each time.

    def require_active(self, doing: str) -> None:
        """Refuse work on a resolved or closed ticket: `doing` is what the person wanted ("claim it")."""
        if not self.status.is_active:
            raise IllegalTransition(
                f"{self.ref} is {self.status.label} — use `/ticket reopen {self.number}` before you {doing}."
            )

    def claim(self, agent: UserRef) -> Events:
        """`agent` takes the ticket. Refused when it is someone else's (assign it instead) or inactive."""
        self.require_active("claim it")
        if agent.same(self.assignee):
            return ()
        if self.assignee is not None:
            raise IllegalTransition(
                f"{self.ref} is assigned to {self.assignee.display} — "
                f"use `/ticket assign {self.number} @you` to take it over."
            )
        return self.assign(agent)

    def assign(self, agent: UserRef, *, auto: str | None = None) -> Events:
        """Give the ticket to `agent`; a new ticket opens. `auto` (how ThreadDesk picked, e.g.
        "round-robin, team billing") records both events as done by ThreadDesk."""
        self.require_active("assign it")
        if agent.same(self.assignee):
            return ()
        by = bot_user(self.customer.platform) if auto is not None else None
        events: list[TicketEvent] = [Assigned(before=self.assignee, after=agent, auto=auto, by=by)]
        self.assignee = agent
        if self.status is Status.NEW:
            events.append(StatusChanged(before=Status.NEW, after=Status.OPEN, by=by))
            self.status = Status.OPEN
        return tuple(events)

    def unassign(self, *, reason: str | None = None) -> Events:
        """Back to the queue, unassigned (`reason`: "moved to team x", "handed over: away")."""
        if self.assignee is None:
            return ()
        event = Unassigned(before=self.assignee, reason=reason)
        self.assignee = None
        return (event,)

    def unclaim(self, actor: UserRef, *, is_lead: bool) -> Events:
        """`/ticket unclaim`: the assignee, or a team lead, gives the ticket back to the queue."""
        if self.assignee is None:
            return ()
        if not actor.same(self.assignee) and not is_lead:
            raise PermissionDenied(f"{self.ref} is {self.assignee.display}'s; only they or a team lead can unclaim it.")
        return self.unassign()

    def record_first_response(self, now: datetime) -> Events:
        """The team answered (a reply, a resolution, an incident update): the first one is recorded and a new
        ticket opens — without a history row, as today (`StatusChanged(recorded=False)`)."""
        events: list[TicketEvent] = []
        if self.first_response_at is None:
            self.first_response_at = now
            events.append(FirstResponse(at=now))
        if self.status is Status.NEW:
            events.append(StatusChanged(before=Status.NEW, after=Status.OPEN, recorded=False))
            self.status = Status.OPEN
        return tuple(events)

    def reply_from_agent(self, now: datetime, *, macro: str | None = None) -> Events:
        """`/ticket reply` (or a macro): an agent's answer to the customer. Refused on a closed ticket."""
        if self.status is Status.CLOSED:
            raise IllegalTransition(f"{self.ref} is closed — use `/ticket reopen {self.number}` before replying.")
        return (Replied(macro=macro), *self.record_first_response(now))

    def agent_wrote(self, now: datetime) -> Events:
        """An agent wrote in the customer's own thread: already posted, so recorded whatever the status."""
        return (Replied(via="thread"), *self.record_first_response(now))

    def customer_wrote(self) -> Events:
        """The customer wrote in the ticket's thread (already posted, so never refused). A pending or resolved
        ticket opens again ("customer replied"); a closed one stays closed and `StillClosed` says so."""
        if self.status is Status.CLOSED:
            return (CustomerMessage(), StillClosed(number=self.number))
        if self.status not in REOPENED_BY_CUSTOMER:
            return (CustomerMessage(),)
        event = StatusChanged(before=self.status, after=Status.OPEN, reason=CUSTOMER_REPLIED)
        self.status = Status.OPEN
        return (CustomerMessage(), event)

    def reply_from_customer(self) -> Events:
        """`/ticket reply` by the customer: as `customer_wrote`, but a closed ticket refuses it."""
        if self.status is Status.CLOSED:
            raise IllegalTransition(StillClosed(number=self.number).notice)
        return self.customer_wrote()

    def set_status(self, target: Status, now: datetime, *, reason: str = "") -> Events:
        """`/ticket status` (a button, a macro with `reason="macro"`): a move the lifecycle table allows."""
        check_transition(self.number, self.status, target)
        event = StatusChanged(before=self.status, after=target, reason=reason)
        self.status = target
        if target is Status.CLOSED:
            self.closed_at = now
        return (event,)

    def close(self, now: datetime, *, reason: str = "", by_customer: bool = False) -> Events:
        """`/ticket close`. A customer closing their resolved ticket confirms the resolution: without a reason
        of their own, the recorded reason is "customer confirmed"."""
        confirmed = by_customer and self.status is Status.RESOLVED
        return self.set_status(Status.CLOSED, now, reason=reason or ("customer confirmed" if confirmed else ""))

    def auto_close(self, now: datetime) -> Events:
        """The auto-close timer fired: a ticket still resolved closes ("no reply"); any other is left alone."""
        if self.status is not Status.RESOLVED:
            return ()
        return self.set_status(Status.CLOSED, now, reason="no reply")

    def set_priority(self, target: Priority) -> Events:
        if self.priority is target:
            return ()
        event = PriorityChanged(before=self.priority, after=target)
        self.priority = target
        return (event,)

    def change_tags(self, add: Iterable[str] = (), remove: Iterable[str] = ()) -> Events:
        """Remove `remove`, then add `add` (kept in order, no duplicates). One `Tagged` with what was asked."""
        add, remove = tuple(add), tuple(remove)
        tags = [x for x in self.tags if x not in remove]
        tags += [x for x in add if x not in tags]
        if tuple(tags) == self.tags:
            return ()
        self.tags = tuple(tags)
        return (Tagged(added=add, removed=remove),)

    def tag(self, *names: str) -> Events:
        return self.change_tags(add=names)

    def untag(self, *names: str) -> Events:
        return self.change_tags(remove=names)

    def escalate(self, reason: str) -> Events:
        """`/ticket escalate`: one step more urgent and tagged `escalated`. Each escalation is recorded (the
        leads are alerted each time), even when the ticket is already urgent and tagged."""
        self.require_active("escalate it")
        before = self.priority
        self.priority = before.raised()
        if "escalated" not in self.tags:
            self.tags = (*self.tags, "escalated")
        return (Escalated(reason=reason, before=before, after=self.priority),)

    def resolve(
        self,
        summary: str,
        now: datetime,
        *,
        by_kb: bool = False,
        kb: str | None = None,
        agent: UserRef | None = None,
        incident: str | None = None,
        recorded_summary: str | None = None,
    ) -> Events:
        """Resolve with `summary`; the customer can confirm (close) or reopen it.

        By an agent (`by_kb=False`): `kb` is the article they cited, `agent` becomes the assignee of an
        unassigned ticket, `incident` the incident it was resolved with, and the resolution counts as the
        first response. `recorded_summary` is what the history keeps when it differs (a macro keeps 300
        characters). By the customer accepting a suggested article (`by_kb=True`, `kb` required): tagged
        `self-served`; no assignee, no first response."""
        self.require_resolvable()
        if by_kb and kb is None:
            raise ValueError("a self-served resolution names the accepted article (kb=...)")
        event = Resolved(
            before=self.status,
            summary=summary if recorded_summary is None else recorded_summary,
            by_kb=by_kb,
            kb=kb,
            incident=incident,
        )
        self.status = Status.RESOLVED
        self.resolved_at = now
        self.resolution_summary = summary
        self.resolved_by_kb = kb
        if by_kb:
            if "self-served" not in self.tags:
                self.tags = (*self.tags, "self-served")
            return (event,)
        if self.assignee is None and agent is not None:
            self.assignee = agent
        return (event, *self.record_first_response(now))

    def require_resolvable(self) -> None:
        """`resolve`'s refusal on its own, for a command that checks before it looks up what it cites."""
        if self.status is Status.RESOLVED:
            raise IllegalTransition(f"{self.ref} is already resolved.")
        if not self.status.is_active:
            raise IllegalTransition(f"{self.ref} is {self.status.label} — use `/ticket reopen {self.number}` first.")

    def reopen(self, reason: str = "") -> Events:
        """`/ticket reopen`: a resolved or closed ticket is open again."""
        if self.status not in REOPENABLE:
            raise IllegalTransition(f"{self.ref} is {self.status.label}, not resolved or closed — nothing to reopen.")
        event = Reopened(before=self.status, reason=reason)
        self.status = Status.OPEN
        self.closed_at = None
        return (event,)


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
