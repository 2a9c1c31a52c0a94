"""Commands that only look: show, list, mine, customer, help — the ticket views."""

from __future__ import annotations

from datetime import datetime

from bot.domain.commands import help_text, ticket_number
from bot.domain.errors import CommandError, UnknownTicket
from bot.domain.text import shorten
from bot.domain.ticket import Priority, Status, Ticket
from bot.outbound import Field, Message
from bot.records import Event, LoggedMessage, TicketQuery
from bot.services import followups, notify
from bot.services.desk_context import DeskContext
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


_EVENT_TEXT = {
    "opened": "opened it",
    "assigned": "assigned it to {after}",
    "unassigned": "unassigned {before}",
    "replied": "replied to the customer",
    "noted": "added an internal note",
    "customer_message": "wrote on it",
    "priority_changed": "changed priority {before} → {after}",
    "status_changed": "changed status {before} → {after}",
    "tagged": "changed tags",
    "escalated": "escalated it",
    "resolved": "resolved it",
    "reopened": "reopened it",
    "self_served": "solved it with the article {article} (self-service)",
    "kb_rejected": "said the suggested articles did not help",
    "kb_suggested": "suggested the article {article}",
    "saved_as_article": "saved it as the article {article}",
    "csat_requested": "asked the customer for a rating",
    "csat_rated": "rated it {rating}/5",
    "sla_warning": "warned that the {target} target is near{late}",
    "sla_breach": "flagged that the {target} target was missed{late}",
    "reminder_sent": "reminded the customer (reminder {attempt})",
    "pleasantry": "{said} (no reopen: it stays {status})",
    "macro_applied": "applied the macro {macro} (v{version})",
    "transferred": "moved it to team {after}",
    "unassigned_waiting": "found nobody available in team {team}: it waits unassigned",
    "incident_linked": "linked it to {incident} · {title}",
    "incident_unlinked": "unlinked it from {incident}",
    "incident_update": "sent the {incident} update",
}

# stored detail values are machine names (`first_response`, `on_hold`); history lines are read by people
_READABLE = {"target", "before", "after", "status"}


def describe_event(event: Event) -> str:
    template = _EVENT_TEXT.get(event.kind, event.kind.replace("_", " "))
    detail: dict[str, object] = {}
    for key, value in event.detail.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif key in _READABLE and isinstance(value, str):
            value = value.replace("_", " ")
        detail[key] = value
    detail["late"] = " (late: ThreadDesk was not running)" if detail.get("late") is True else ""
    try:
        text = template.format(**detail)
    except (KeyError, IndexError):
        text = template
    if event.kind == "opened" and detail.get("suggested"):
        text += f" (suggested: {detail['suggested']})"
    reason = detail.get("reason") or detail.get("summary")
    return f"{text} ({shorten(notify.relay(str(reason)), 80)})" if reason else text


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
