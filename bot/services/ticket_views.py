"""Commands that only look: show, list, mine, customer, help — the ticket views."""

from __future__ import annotations

from datetime import datetime

from bot.domain.commands import help_text, ticket_number
from bot.domain.errors import CommandError, UnknownTicket
from bot.domain.text import shorten
from bot.domain.ticket import Priority, Status, Ticket
from bot.outbound import Field, Message
from bot.records import LoggedMessage, TicketQuery
from bot.services import followups, notify
from bot.services.desk_context import DeskContext
from bot.services.history_text import describe_event
from bot.services.replies import Reply
from bot.services.request import Request

ACTIVE = tuple(s for s in Status if s.is_active)


def ticket_line(t: Ticket, now: datetime) -> str:
    who = t.assignee.display if t.assignee else "unassigned"
    return (
        f"{t.ref} · {t.priority.value} · {t.status.label} · {shorten(notify.relay(t.subject), 60)} · "
        f"{t.customer.display} · {who} · {t.age(now)}"
    )


def _listing(title: str, found: list[Ticket], now: datetime, empty: str) -> Reply:
    if not found:
        return Reply.done(empty)
    lines = [title, *(ticket_line(t, now) for t in found)]
    return Reply.done("\n".join(lines))


async def show(ctx: DeskContext, req: Request) -> Reply:
    number = req.ticket_number
    now = ctx.clock.now()
    async with ctx.store.reading() as uow:
        t = await uow.tickets.get_ticket(number)
        if t is None or (not req.is_staff and not t.customer.same(req.actor)):
            raise UnknownTicket(number)
        events = await uow.history.events_for(number)
        log = await uow.messages.messages_for(number, public_only=not req.is_staff)
        sla = await followups.sla_line(ctx, uow, t, now) if req.is_staff else ""
    fields = [
        Field(name="Status", value=t.status.label),
        Field(name="Priority", value=t.priority.value),
        Field(name="Customer", value=t.customer.display),
        Field(name="Assignee", value=t.assignee.display if t.assignee else "unassigned"),
        Field(name="Category", value=t.category),
        Field(name="Opened", value=f"{t.created_at:%Y-%m-%d %H:%M} UTC ({_ago(t.age(now))})"),
    ]
    if t.tags:
        fields.append(Field(name="Tags", value=", ".join(t.tags)))
    if sla:
        fields.append(Field(name="SLA", value=sla))
    if t.resolution_summary and t.status in (Status.RESOLVED, Status.CLOSED):
        fields.append(Field(name="Resolution", value=notify.relay(t.resolution_summary)))
    lines = [f"{t.ref} · {notify.relay(t.subject)}", *(f"{f.name}: {f.value}" for f in fields)]
    lines.append("History:")
    lines += [f"  {e.at:%m-%d %H:%M} {e.actor.display} {describe_event(e)}" for e in events]
    lines.append("Messages:")
    lines += [f"  {_message_line(m)}" for m in log]
    return Reply(
        message=Message(text="\n".join(lines), title=f"{t.ref} · {t.subject}", fields=tuple(fields)),
        ticket=number,
    )


def _ago(age: str) -> str:
    return age if age == "just now" else f"{age} ago"


def _message_line(m: LoggedMessage) -> str:
    marker = " [internal]" if m.visibility == "internal" else ""
    state = "" if m.delivery in ("received", "delivered") else f" ({m.delivery})"
    body = shorten(notify.relay(m.body), 300).replace("\n", "\n    ")
    return f"{m.at:%m-%d %H:%M} {m.author.display}{marker}{state}: {body}"


async def list_(ctx: DeskContext, req: Request) -> Reply:
    filters = req.command.filters
    statuses = [Status(f) for f in filters if f in Status._value2member_map_]
    priorities = [Priority(f) for f in filters if f in Priority._value2member_map_]
    if not statuses and "all" not in filters:
        statuses = list(ACTIVE)
    query = TicketQuery(
        statuses=statuses,
        priorities=priorities,
        unassigned="unassigned" in filters,
        customer=None if req.is_staff else req.actor,
    )
    async with ctx.store.reading() as uow:
        found = await uow.tickets.list_tickets(query)
    what = " ".join(filters) or "active"
    title = f"Tickets ({what}), most urgent first:" if req.is_staff else "Your tickets:"
    return _listing(title, found, ctx.clock.now(), f"No {what} tickets.")


async def mine(ctx: DeskContext, req: Request) -> Reply:
    if req.is_staff:
        query = TicketQuery(assignee=req.actor, statuses=ACTIVE)
        title, empty = (
            "Assigned to you:",
            "Nothing assigned to you. `/ticket list unassigned` shows what is waiting.",
        )
    else:
        query = TicketQuery(customer=req.actor)
        title, empty = "Your tickets:", "You have no tickets. Write to us and we'll open one."
    async with ctx.store.reading() as uow:
        found = await uow.tickets.list_tickets(query)
    return _listing(title, found, ctx.clock.now(), empty)


async def customer(ctx: DeskContext, req: Request) -> Reply:
    token = req.command.user or ""
    async with ctx.store.reading() as uow:
        number = ticket_number(token)
        if number is not None:
            t = await uow.tickets.get_ticket(number)
            if t is None:
                raise UnknownTicket(number)
            person = t.customer
        else:
            found = await uow.people.find_person(req.actor.platform, token)
            if found is None:
                raise CommandError(f"No customer “{token}” has written to us on {req.actor.platform}.")
            person = found
        history = await uow.tickets.list_tickets(TicketQuery(customer=person, limit=100))
    now = ctx.clock.now()
    active = [t for t in history if t.status.is_active]
    past = [t for t in history if not t.status.is_active]
    lines = [f"{person.display} ({person.key}): {len(active)} open, {len(past)} past ticket(s)."]
    lines += ["Open:", *(f"  {ticket_line(t, now)}" for t in active)] if active else []
    lines += ["Past:", *(f"  {ticket_line(t, now)}" for t in past)] if past else []
    return Reply.done("\n".join(lines))


async def help_(ctx: DeskContext, req: Request) -> Reply:
    return Reply.done(help_text(req.command.group, req.command.text, req.role))
