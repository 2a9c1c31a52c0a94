"""Fire the per-ticket timers that are due: SLA warnings and breaches, auto-close, pending reminders.

Each timer is handled in its own transaction together with the posts it causes and its own removal (or
re-arming), so a crash or restart can neither lose it nor fire it twice; the `sla_alerts` table makes each
alert once-only per ticket, target and level even if a timer were armed again. A timer handled well after
its moment (the bot was down) says it is late.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.domain.refs import UserRef, bot_user
from bot.domain.sla import Level, Target
from bot.domain.ticket import Status
from bot.domain.ticket_followups import AUTO_CLOSE, PENDING_REMINDER, SLA_TIMERS
from bot.records import Timer
from bot.services import leads_notify, notify
from bot.services.desk_context import DeskContext
from bot.services.ticket_work import TicketWork

log = logging.getLogger(__name__)


async def fire_due(ctx: DeskContext, batch: int = 500) -> list[str]:
    """Handle every timer due now. Returns one line per thing done (for logs and tests)."""
    done: list[str] = []
    while True:
        now = ctx.clock.now()
        async with ctx.store.reading() as uow:
            due = await uow.timers.due_timers(now, batch)
        for timer in due:
            try:
                what = await _fire(ctx, timer)
            except Exception:
                log.exception("timer %s on #%d failed; it stays armed", timer.kind, timer.ticket)
                continue
            if what:
                done.append(what)
        if len(due) < batch:
            return done


async def _fire(ctx: DeskContext, timer: Timer) -> str:
    async with ctx.store.transaction() as uow:
        if not await uow.timers.still_armed(timer):
            return ""  # moved or cleared since it was read
        ticket = await uow.tickets.get_ticket(timer.ticket)
        if ticket is None:
            await uow.timers.clear_timers(timer.ticket, (timer.kind,))
            return ""
        work = TicketWork(ctx, uow, ticket, bot_user(ticket.customer.platform))
        if timer.kind in SLA_TIMERS and ctx.sla is None:
            what = ""  # SLA was switched off after this timer was armed
        elif timer.kind in SLA_TIMERS:
            target, level = SLA_TIMERS[timer.kind]
            what = await _sla_alert(work, timer, target, level)
        elif timer.kind == AUTO_CLOSE:
            what = await _auto_close(work, timer)
        elif timer.kind == PENDING_REMINDER:
            what = await _remind(work, timer)
            return what  # re-armed or cleared inside
        else:
            log.warning("unknown timer kind %r on #%d; dropping it", timer.kind, timer.ticket)
            what = ""
        await uow.timers.clear_timers(timer.ticket, (timer.kind,))
        await work.finish()
        return what


def _on_duty(work: TicketWork) -> tuple[UserRef, ...]:
    t = work.ticket
    if t.assignee is not None:
        return (t.assignee,)
    platform = work.desk_platform  # an e-mail ticket's agents are on the chat its card is in
    return tuple(UserRef(platform=platform, id=i, name=i.capitalize()) for i in sorted(work.ctx.roles.agents(platform)))


async def _sla_alert(work: TicketWork, timer: Timer, target: Target, level: Level) -> str:
    ctx, t, now = work.ctx, work.ticket, work.now
    late_after = ctx.sla.late_after if ctx.sla else timedelta(minutes=5)
    late = now - timer.due_at > late_after
    stored = await work.uow.sla.get_clock(t.number)
    breach_at = None
    if stored is not None:
        breach_at = stored.first_response_due if target is Target.FIRST_RESPONSE else stored.resolution_due
    if level is Level.WARNING and breach_at is not None and breach_at <= now:
        # the breach is due too (the bot was down through both): one alert, the breach, says it all
        await work.uow.sla.record_alert(t.number, target, level, timer.due_at, now, late)
        return ""
    if not await work.uow.sla.record_alert(t.number, target, level, timer.due_at, now, late):
        return ""
    people = _on_duty(work)
    message = leads_notify.sla_alert(t, target, level, timer.due_at, breach_at, now, people, late)
    await work.event(f"sla_{level.value}", target=target.value, late=late)
    await work.to_card_thread(message)
    await work.to_leads(message)
    work.refresh_card()
    return f"#{t.number} {target.value} {level.value}{' (late)' if late else ''}"


async def _auto_close(work: TicketWork, timer: Timer) -> str:
    t = work.ticket
    if not await work.record(t.auto_close(work.now)):
        return ""  # no longer resolved: reopened or closed meanwhile
    days = work.ctx.automation.auto_close_days
    await work.to_customer(leads_notify.auto_closed(t, days))
    await work.to_card_thread(notify.card_event(t, f"closed automatically after {days:g} quiet day(s)."))
    return f"#{t.number} auto-closed"


async def _remind(work: TicketWork, timer: Timer) -> str:
    t, auto = work.ticket, work.ctx.automation
    if t.status is not Status.PENDING:
        await work.uow.timers.clear_timers(t.number, (timer.kind,))
        return ""
    waited = timedelta(hours=auto.pending_reminder_hours) * (timer.attempt + 1)
    await work.to_customer(leads_notify.pending_reminder(t, waited))
    await work.event("reminder_sent", attempt=timer.attempt + 1)
    if timer.attempt + 1 < auto.pending_reminders:
        await work.uow.timers.reschedule(timer, work.now + timedelta(hours=auto.pending_reminder_hours))
    else:
        await work.uow.timers.clear_timers(t.number, (timer.kind,))
    return f"#{t.number} reminded"
