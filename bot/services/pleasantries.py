"""Pleasantries in chat: "thanks!", "ok", "hello?" are answered kindly and never open a ticket.

- A pleasantry written in a DM outside any ticket's thread:
  - with a ticket still open → noted on that ticket (the agents see it in the card's thread), status unchanged;
  - else with a ticket resolved in the last `RECENT` → noted on it, and it stays resolved (no reopen);
  - else → a friendly answer only; nothing is recorded but the message id (re-deliveries stay no-ops).
- A pleasantry in the thread of a resolved or closed ticket is noted on it without reopening it.
Anything else the customer writes keeps its usual effect: a new ticket, or a reply that reopens.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.inbound import IncomingMessage
from bot.domain.pleasantry import Pleasantry, detect
from bot.domain.refs import UserRef
from bot.domain.ticket import Status, Ticket
from bot.outbound import Destination, DestinationKind, Message
from bot.ports import UnitOfWork
from bot.services import notify
from bot.services.desk_context import DeskContext
from bot.services.ticket_work import TicketWork

#: How long after a resolution a "thanks!" still belongs to that ticket.
RECENT = timedelta(days=7)

_SAID = {
    Pleasantry.THANKS: "thanked us",
    Pleasantry.GREETING: "said hello",
    Pleasantry.GOODBYE: "said goodbye",
    Pleasantry.ACK: "acknowledged",
}


def pleasantry_in(msg: IncomingMessage, body: str) -> Pleasantry | None:
    """The pleasantry a customer's message is, when it should not open or reopen a ticket."""
    if msg.files:
        return None  # an attachment is something to look at
    return detect(body)


def _first_name(person: UserRef) -> str:
    return person.display.split()[0] if person.display.split() else person.display


def no_ticket_answer(kind: Pleasantry, person: UserRef) -> str:
    name = _first_name(person)
    if kind is Pleasantry.THANKS:
        return f"You're welcome, {name}! If you need anything, just write here and we'll open a ticket."
    if kind is Pleasantry.GOODBYE:
        return f"Bye, {name} — if anything comes up, just write here."
    if kind is Pleasantry.GREETING:
        return f"Hi {name}! 👋 How can we help? Describe the problem in a message and we'll open a ticket for it."
    return "👍 If you need help with something, describe it in a message and we'll open a ticket for it."


def ticket_answer(kind: Pleasantry, person: UserRef, ticket: Ticket) -> str:
    name = _first_name(person)
    if ticket.status.is_active:
        hello = "Hi" if kind is Pleasantry.GREETING else "Thanks"
        return (
            f"{hello}, {name} — we've added this to {ticket.ref} ({ticket.status.label}); "
            "an agent will answer in its thread."
        )
    if kind is Pleasantry.THANKS:
        return (
            f"You're welcome, {name}! {ticket.ref} stays {ticket.status.label}. If anything else comes up, just write."
        )
    if kind is Pleasantry.GREETING:
        return (
            f"Hi {name}! {ticket.ref} is {ticket.status.label}. If something new comes up, describe it in a message "
            "and we'll open a ticket for it."
        )
    return f"Noted, {name} — {ticket.ref} stays {ticket.status.label}. If anything else comes up, just write."


async def answer_outside_tickets(
    ctx: DeskContext, uow: UnitOfWork, msg: IncomingMessage, body: str, kind: Pleasantry
) -> Ticket | None:
    """A pleasantry in a DM outside a ticket's thread. Returns the ticket it was noted on, if any."""
    now = ctx.clock.now()
    ticket = await uow.recent_tickets.latest_active(msg.author)
    if ticket is None:
        ticket = await uow.recent_tickets.latest_resolved_since(msg.author, now - RECENT)
    if ticket is None:
        text = no_ticket_answer(kind, msg.author)
    else:
        await note_on_ticket(ctx, uow, ticket, msg, body, kind, answer=False)
        text = ticket_answer(kind, msg.author, ticket)
    dest = Destination(kind=DestinationKind.THREAD, platform=msg.platform, channel=msg.channel, thread=msg.message_id)
    await uow.outbox.enqueue(dest, Message(text=text), at=now)
    return ticket


async def note_on_ticket(
    ctx: DeskContext,
    uow: UnitOfWork,
    ticket: Ticket,
    msg: IncomingMessage,
    body: str,
    kind: Pleasantry,
    *,
    answer: bool = True,
) -> None:
    """Log the pleasantry on `ticket` and show it to the agents; the ticket's status does not change."""
    work = TicketWork(ctx, uow, ticket, msg.author)
    await work.log(body, author=msg.author, role="customer", platform_message_id=msg.message_id)
    if ticket.status.is_active:
        await work.event("customer_message")
    else:
        await work.event("pleasantry", said=_SAID[kind], status=ticket.status.value)
    await work.to_card_thread(notify.customer_wrote(ticket, msg.author, body))
    if answer:
        await work.to_customer(Message(text=ticket_answer(kind, msg.author, ticket)))
    await work.finish()


def keeps_status(ticket: Ticket) -> bool:
    """A pleasantry in this ticket's thread is noted without a status change (no reopen)."""
    return ticket.status in (Status.RESOLVED, Status.CLOSED)
