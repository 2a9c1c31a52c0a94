"""What follows from any change to a ticket, decided in the same transaction as the change:

- the SLA clock follows the status (pending, resolved and closed pause resolution) and its due moments and
  warning/breach timers are re-armed (priority changes move them; alerts that fired stay fired);
- a resolved ticket gets an auto-close timer, a pending one a reminder timer; other statuses clear them;
- a ticket that just closed asks its customer for a rating, once — not when closed as spam or duplicate.

Called from `TicketWork.finish`, so every command, button and chat message goes through it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.refs import bot_user
from bot.domain.sla import Level, ResolutionClock, Target, describe, due_moments
from bot.domain.ticket import Status, Ticket
from bot.ports import UnitOfWork
from bot.services import dashboard_link, leads_notify

if TYPE_CHECKING:
    from bot.services.desk_context import DeskContext
    from bot.services.ticket_work import TicketWork

AUTO_CLOSE = "auto_close"
PENDING_REMINDER = "pending_reminder"
NO_SURVEY_WORDS = frozenset({"spam", "duplicate", "dup", "duplicated"})


def sla_timer(target: Target, level: Level) -> str:
    return f"sla:{target.value}:{level.value}"


SLA_TIMERS = {sla_timer(t, lv): (t, lv) for t in Target for lv in Level}


async def after_change(work: TicketWork) -> str:
    """Re-arm timers and ask for a rating when due. Returns the card's SLA line ("" when SLA is off)."""
    arm: list[tuple[str, datetime]] = []
    keep: list[tuple[str, datetime]] = []
    clear: list[str] = []
    line = await _sync_sla(work, arm, clear)
    _automation(work, arm, keep, clear)
    await work.uow.timers.apply(work.ticket.number, arm, keep, clear)
    t = work.ticket
    if t.status is Status.CLOSED and work.loaded_status is not Status.CLOSED:
        await _survey(work)
        if "transcript" not in work.once:
            work.once.add("transcript")
            from bot.services import transcripts  # imported here: transcripts → ticket_views → followups

            await transcripts.at_close(work)
        await dashboard_link.post_transcript_link(work)
    return line


async def sla_line(ctx: DeskContext, uow: UnitOfWork, ticket: Ticket, now: datetime) -> str:
    """Time left or overdue for `/ticket show` ("" when SLA is off)."""
    if ctx.sla is None:
        return ""
    targets = ctx.sla.for_priority(ticket.priority)
    stored = await uow.sla.get_clock(ticket.number)
    clock = stored.clock if stored else ResolutionClock(running_since=ticket.created_at)
    clock = clock.follow(ticket.status, now, targets.calendar)
    due = due_moments(targets, ctx.sla.warn_at, ticket.created_at, ticket.first_response_at, clock, ticket.status)
    return describe(due, now)


async def _sync_sla(work: TicketWork, arm: list[tuple[str, datetime]], clear: list[str]) -> str:
    ctx, t, uow = work.ctx, work.ticket, work.uow
    if ctx.sla is None:
        return ""
    targets = ctx.sla.for_priority(t.priority)
    # a ticket opened by this very command has no clock and no alerts yet: skip the read
    stored, fired = (None, set()) if work.is_new else await uow.sla.load(t.number)
    clock = stored.clock if stored else ResolutionClock(running_since=t.created_at)
    clock = clock.follow(t.status, work.now, targets.calendar)
    due = due_moments(targets, ctx.sla.warn_at, t.created_at, t.first_response_at, clock, t.status)
    await uow.sla.save_clock(t.number, clock, due)
    moments = {
        (Target.FIRST_RESPONSE, Level.WARNING): due.first_response_warn,
        (Target.FIRST_RESPONSE, Level.BREACH): due.first_response,
        (Target.RESOLUTION, Level.WARNING): due.resolution_warn,
        (Target.RESOLUTION, Level.BREACH): due.resolution,
    }
    for (target, level), moment in moments.items():
        kind = sla_timer(target, level)
        if moment is None or (target.value, level.value) in fired:
            if not work.is_new:
                clear.append(kind)
        else:
            arm.append((kind, moment))
    return describe(due, work.now)


def _automation(
    work: TicketWork, arm: list[tuple[str, datetime]], keep: list[tuple[str, datetime]], clear: list[str]
) -> None:
    auto, t = work.ctx.automation, work.ticket
    if t.status is Status.RESOLVED and auto.auto_close_days > 0 and t.resolved_at is not None:
        arm.append((AUTO_CLOSE, t.resolved_at + timedelta(days=auto.auto_close_days)))
    elif not work.is_new:
        clear.append(AUTO_CLOSE)
    if t.status is Status.PENDING and auto.pending_reminder_hours > 0 and auto.pending_reminders > 0:
        keep.append((PENDING_REMINDER, work.now + timedelta(hours=auto.pending_reminder_hours)))
    elif not work.is_new:
        clear.append(PENDING_REMINDER)


def closed_without_survey(ticket: Ticket, reason: str) -> bool:
    """Closed as spam or duplicate: by the close reason's words or by a tag."""
    words = set(re.findall(r"[a-z]+", reason.lower()))
    return bool(words & NO_SURVEY_WORDS) or bool(set(ticket.tags) & NO_SURVEY_WORDS)


async def _survey(work: TicketWork) -> None:
    t = work.ticket
    reason = await work.uow.history.last_status_reason(t.number)
    if closed_without_survey(t, reason):
        return
    if await work.uow.csat.ask(t.number, work.now):
        await work.event("csat_requested", by=bot_user(work.platform))
        await work.to_customer(leads_notify.csat_request(t))
