"""What follows a change to a ticket, decided from the ticket alone (pure): the per-ticket timers to arm, keep
or clear, whether its customer is asked for a rating, and whether it has just closed.

The rules `bot/services/followups.py` applies today, without the database:

- the SLA clock follows the status (pending, resolved and closed pause resolution); its due moments arm the
  warning and breach timers, and a moment that is met, paused or already alerted clears its timer;
- a resolved ticket gets an auto-close timer (`auto_close_days` after it was resolved), a pending one a
  reminder timer (armed once per wait, not moved by later changes); any other status clears them;
- a ticket that has just closed asks its customer for a rating — not when it was closed as spam or a
  duplicate (by the close reason's words or by a tag). Asking once per ticket is the store's job.

A ticket opened in this unit of work (`before=None`) has nothing armed yet, so nothing is cleared.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.sla import Due, Level, ResolutionClock, SlaPolicy, Target, describe, due_moments
from bot.domain.ticket import Status, Ticket
from bot.domain.ticket_events import StatusChanged, TicketEvent

AUTO_CLOSE = "auto_close"
PENDING_REMINDER = "pending_reminder"
NO_SURVEY_WORDS = frozenset({"spam", "duplicate", "dup", "duplicated"})


def sla_timer(target: Target, level: Level) -> str:
    return f"sla:{target.value}:{level.value}"


SLA_TIMERS: dict[str, tuple[Target, Level]] = {sla_timer(t, lv): (t, lv) for t in Target for lv in Level}
#: Every per-ticket timer kind.
TIMER_KINDS: frozenset[str] = frozenset({AUTO_CLOSE, PENDING_REMINDER, *SLA_TIMERS})


class AutomationRules(Protocol):
    """The `[automation]` settings the rules read (`AutomationConfig` has them)."""

    @property
    def auto_close_days(self) -> float: ...

    @property
    def pending_reminder_hours(self) -> float: ...

    @property
    def pending_reminders(self) -> int: ...


@dataclass(frozen=True)
class Automation:
    """`AutomationRules` as plain values (the config's defaults)."""

    auto_close_days: float = 7
    pending_reminder_hours: float = 48
    pending_reminders: int = 2


@dataclass(frozen=True)
class TimerPlan:
    """Timers to set or move (`arm`), to set unless already set (`keep`), and to remove (`clear`)."""

    arm: tuple[tuple[str, datetime], ...] = ()
    keep: tuple[tuple[str, datetime], ...] = ()
    clear: tuple[str, ...] = ()

    def __add__(self, other: TimerPlan) -> TimerPlan:
        return TimerPlan(self.arm + other.arm, self.keep + other.keep, self.clear + other.clear)


def automation_timers(ticket: Ticket, rules: AutomationRules, now: datetime, *, is_new: bool = False) -> TimerPlan:
    """Auto-close for a resolved ticket, a reminder for a pending one; otherwise both cleared."""
    arm: list[tuple[str, datetime]] = []
    keep: list[tuple[str, datetime]] = []
    clear: list[str] = []
    if ticket.status is Status.RESOLVED and rules.auto_close_days > 0 and ticket.resolved_at is not None:
        arm.append((AUTO_CLOSE, ticket.resolved_at + timedelta(days=rules.auto_close_days)))
    elif not is_new:
        clear.append(AUTO_CLOSE)
    if ticket.status is Status.PENDING and rules.pending_reminder_hours > 0 and rules.pending_reminders > 0:
        keep.append((PENDING_REMINDER, now + timedelta(hours=rules.pending_reminder_hours)))
    elif not is_new:
        clear.append(PENDING_REMINDER)
    return TimerPlan(tuple(arm), tuple(keep), tuple(clear))


@dataclass(frozen=True)
class SlaState:
    """What the store holds for a ticket's SLA: its resolution clock (None: never saved) and the alerts already
    fired, as `(target, level)` values, e.g. `("first_response", "warning")`."""

    clock: ResolutionClock | None = None
    fired: Collection[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class SlaFollowUp:
    """The clock and due moments to save, the SLA timers, and the card's SLA line."""

    clock: ResolutionClock
    due: Due
    timers: TimerPlan
    line: str


def sla_follow_up(
    policy: SlaPolicy, ticket: Ticket, now: datetime, state: SlaState = SlaState(), *, is_new: bool = False
) -> SlaFollowUp:
    targets = policy.for_priority(ticket.priority)
    clock = state.clock or ResolutionClock(running_since=ticket.created_at)
    clock = clock.follow(ticket.status, now, targets.calendar)
    due = due_moments(targets, policy.warn_at, ticket.created_at, ticket.first_response_at, clock, ticket.status)
    moments = {
        (Target.FIRST_RESPONSE, Level.WARNING): due.first_response_warn,
        (Target.FIRST_RESPONSE, Level.BREACH): due.first_response,
        (Target.RESOLUTION, Level.WARNING): due.resolution_warn,
        (Target.RESOLUTION, Level.BREACH): due.resolution,
    }
    arm: list[tuple[str, datetime]] = []
    clear: list[str] = []
    for (target, level), moment in moments.items():
        kind = sla_timer(target, level)
        if moment is None or (target.value, level.value) in state.fired:
            if not is_new:
                clear.append(kind)
        else:
            arm.append((kind, moment))
    return SlaFollowUp(clock, due, TimerPlan(arm=tuple(arm), clear=tuple(clear)), describe(due, now))


def closed_without_survey(ticket: Ticket, reason: str) -> bool:
    """Closed as spam or duplicate: by the close reason's words or by a tag."""
    words = set(re.findall(r"[a-z]+", reason.lower()))
    return bool(words & NO_SURVEY_WORDS) or bool(set(ticket.tags) & NO_SURVEY_WORDS)


def just_closed(before: Status | None, ticket: Ticket) -> bool:
    return ticket.status is Status.CLOSED and before is not Status.CLOSED


def close_reason(events: Iterable[TicketEvent]) -> str:
    """The reason recorded by the last move to closed among `events` ("" when none)."""
    reason = ""
    for event in events:
        if isinstance(event, StatusChanged) and event.after is Status.CLOSED:
            reason = event.reason or ""
    return reason


def survey_due(before: Status | None, ticket: Ticket, reason: str) -> bool:
    """Ask the customer for a rating: the ticket has just closed, and not as spam or a duplicate."""
    return just_closed(before, ticket) and not closed_without_survey(ticket, reason)


@dataclass(frozen=True)
class FollowUpPlan:
    timers: TimerPlan
    #: ask the customer for a rating (the store keeps it to once per ticket)
    survey: bool
    #: the ticket closed in this unit of work (its transcript, the dashboard link)
    closed: bool
    #: None when SLA is off
    sla: SlaFollowUp | None = None

    @property
    def sla_line(self) -> str:
        return self.sla.line if self.sla else ""


def plan_follow_ups(
    before: Status | None,
    ticket: Ticket,
    now: datetime,
    automation: AutomationRules,
    *,
    events: Iterable[TicketEvent] = (),
    sla: SlaPolicy | None = None,
    sla_state: SlaState = SlaState(),
) -> FollowUpPlan:
    """Everything that follows the unit of work's change: `before` is the status the ticket was loaded with
    (None: opened by this unit), `ticket` as it is now, `events` what the unit did to it (the close reason)."""
    is_new = before is None
    sla_plan = sla_follow_up(sla, ticket, now, sla_state, is_new=is_new) if sla is not None else None
    timers = (sla_plan.timers if sla_plan else TimerPlan()) + automation_timers(ticket, automation, now, is_new=is_new)
    return FollowUpPlan(
        timers=timers,
        survey=survey_due(before, ticket, close_reason(events)),
        closed=just_closed(before, ticket),
        sla=sla_plan,
    )
