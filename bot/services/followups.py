"""What follows from any change to a ticket, applied in the same transaction as the change.

The rules are the domain's (`bot.domain.ticket_followups`): the SLA clock follows the status and its warning
and breach timers are re-armed; a resolved ticket gets an auto-close timer, a pending one a reminder; a ticket
that has just closed asks its customer for a rating, unless closed as spam or a duplicate. This module reads
what the rules need from the store (the SLA clock, the alerts already fired) and writes what they decide (the
clock, its due moments, the timers). `TicketWork.finish` calls `apply` once per unit of work and acts on the
rest of the plan (the rating, the transcript), so every command, button and chat message goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.domain.ticket import Status, Ticket
from bot.domain.ticket_events import TicketEvent
from bot.domain.ticket_followups import FollowUpPlan, SlaState, plan_follow_ups, sla_follow_up
from bot.ports import UnitOfWork
from bot.services.desk_context import DeskContext


async def apply(
    ctx: DeskContext,
    uow: UnitOfWork,
    ticket: Ticket,
    now: datetime,
    *,
    before: Status | None,
    events: Iterable[TicketEvent] = (),
) -> FollowUpPlan:
    """Plan the follow-ups of the unit's change and store the SLA clock and the timers.

    `before` is the status the ticket was loaded with (None: this unit opened it, so nothing is armed yet and
    nothing is read); `events` what the unit did to it (the close reason decides the rating)."""
    state = SlaState()
    if ctx.sla is not None and before is not None:
        stored, fired = await uow.sla.load(ticket.number)
        state = SlaState(clock=stored.clock if stored else None, fired=fired)
    plan = plan_follow_ups(before, ticket, now, ctx.automation, events=events, sla=ctx.sla, sla_state=state)
    if plan.sla is not None:
        await uow.sla.save_clock(ticket.number, plan.sla.clock, plan.sla.due)
    timers = plan.timers
    await uow.timers.apply(ticket.number, list(timers.arm), list(timers.keep), list(timers.clear))
    return plan


async def sla_line(ctx: DeskContext, uow: UnitOfWork, ticket: Ticket, now: datetime) -> str:
    """Time left or overdue for `/ticket show` ("" when SLA is off)."""
    if ctx.sla is None:
        return ""
    stored = await uow.sla.get_clock(ticket.number)
    return sla_follow_up(ctx.sla, ticket, now, SlaState(clock=stored.clock if stored else None)).line
