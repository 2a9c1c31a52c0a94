"""Customer messages: a new message in an intake place opens a ticket; a reply in its thread joins it.
And `/ticket new`, which opens one by command."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot import telemetry
from bot.domain.errors import CommandError
from bot.domain.inbound import IncomingMessage
from bot.domain.refs import ThreadRef, UserRef
from bot.domain.roles import Role
from bot.domain.text import MAX_MESSAGE_CHARS, clean_text, subject_from
from bot.domain.ticket import Priority, Status, Ticket
from bot.domain.ticket_events import StillClosed
from bot.outbound import Destination, DestinationKind
from bot.ports import UnitOfWork
from bot.records import TicketQuery
from bot.services import incident_detection, incident_notify, macro_card, notify, pleasantries, routing
from bot.services.desk_context import DeskContext
from bot.services.incident_work import IncidentWork
from bot.services.replies import Reply
from bot.services.request import Request
from bot.services.ticket_work import TicketWork
from kb.matcher import Suggestion

log = logging.getLogger(__name__)


def message_body(msg: IncomingMessage) -> str:
    text = clean_text(msg.text)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + f"\n… (cut at {MAX_MESSAGE_CHARS:,} characters)"
    if msg.files:
        text += "".join(f"\n[file] {link}" for link in msg.files)
    return text.strip()


def is_intake_place(ctx: DeskContext, msg: IncomingMessage) -> bool:
    return msg.is_direct or msg.mentions_bot or msg.channel in ctx.channels(msg.platform).intake_channels


def wanted(ctx: DeskContext, msg: IncomingMessage) -> bool:
    """Could this message concern the desk? (Has words or files, and came where tickets are opened, or in a
    thread — which may be a ticket's.) What is not wanted is neither kept in the inbox nor handled."""
    return bool(message_body(msg)) and (msg.thread_ref is not None or is_intake_place(ctx, msg))


async def receive(ctx: DeskContext, msg: IncomingMessage) -> Ticket | None:
    """Handle one chat message. Returns the ticket it opened or joined; None when it was not for us.

    Idempotent on the platform message id: a re-delivered message changes nothing.
    """
    if not wanted(ctx, msg):
        return None
    body = message_body(msg)
    thread = msg.thread_ref
    # outside a thread a message opens a ticket, unless it is a pleasantry in a DM; what its text decides is
    # worked out before the unit of work (and dropped when the message turns out to be a re-delivery)
    kind = pleasantries.pleasantry_in(msg, body) if thread is None and msg.is_direct else None
    draft = await draft_ticket(ctx, body) if thread is None and kind is None else None
    async with ctx.store.transaction() as uow:
        await uow.inbound.settle(msg.platform, msg.message_id)  # handled in this unit: it leaves the inbox
        found = await uow.tickets.ticket_for_thread(thread) if thread is not None else None
        if thread is not None and found is None:
            # a thread that is not a ticket's: ordinary conversation, not taken in (a reaction may still make
            # a ticket of it) — unless it is an incident card's thread, where staff talk is an internal note
            await incident_note(ctx, uow, msg, body)
            return None
        if not await uow.inbound.claim_inbound(msg.platform, msg.message_id, ctx.clock.now()):
            log.info("ignoring re-delivered message %s:%s", msg.platform, msg.message_id)
            return None
        await ctx.remember(uow, msg.author)
        ticket: Ticket | None
        if found is not None:
            ticket, in_card_thread = found
            await _join(ctx, uow, ticket, msg, body, in_card_thread)
        elif kind is not None:
            # "thanks!", "ok", "hello?" in a DM: a kind answer, never a new ticket
            await pleasantries.answer_outside_tickets(ctx, uow, msg, body, kind)
            return None
        else:
            assert draft is not None  # no thread (a thread that is not a ticket's returned above), no pleasantry
            root = msg.started_thread or msg.message_id
            ticket = await open_ticket(
                ctx, uow, msg.author, msg.channel, root, draft, message_id=msg.message_id, subject=msg.subject
            )
        return ticket


async def new(ctx: DeskContext, req: Request) -> Reply:
    """`/ticket new TEXT`: open a ticket by command, answered where it was run."""
    body = clean_text(req.command.text)
    place = req.place
    if place is None:
        raise CommandError("`/ticket new` needs a channel to answer in: run it in a DM with the bot or a channel.")
    draft = await draft_ticket(ctx, body)
    async with ctx.store.transaction() as uow:
        await ctx.remember(uow, req.actor)
        # inside a thread the ticket lives in that thread; elsewhere (or inside another ticket's thread) the
        # bot's acknowledgement starts one
        thread = place.thread or ""
        if place.thread_ref is not None and await uow.tickets.ticket_for_thread(place.thread_ref):
            thread = ""
        ticket = await open_ticket(ctx, uow, req.actor, place.channel, thread, draft)
    if ticket is None:
        return Reply.error("You have reached the limit of open tickets; see the message in the channel.")
    return Reply.done(f"Opened {ticket.ref}: {ticket.subject}", ticket.number)


@dataclass(frozen=True)
class Draft:
    """What a new ticket's text decides, worked out before its unit of work, which then keeps only what depends
    on what it reads (on SQLite a unit holds the one writer's turn, on PostgreSQL a transaction and row
    locks): the intake rules' priority, category and team, the KB's suggestions with their lines of the
    acknowledgement, the macro its card suggests, and the report incident detection compares."""

    body: str
    priority: Priority
    category: str
    team: str | None
    offer: notify.Offer
    macro: str | None
    report: incident_detection.Report | None


async def draft_ticket(ctx: DeskContext, body: str) -> Draft:
    """Rules, suggestions and rendering for a ticket `body` may open. The only reads are the KB's and the
    macros' periodic checks for changes, on a reading unit."""
    priority, category = ctx.intake.classify(body)
    suggestions: list[Suggestion] = []
    if ctx.suggestions or ctx.incidents.reads_articles:
        await ctx.kb.refresh_before_unit(ctx.store)
    if ctx.suggestions:
        with telemetry.timed(telemetry.KB_SUGGEST_SECONDS):
            suggestions = ctx.kb.suggest(body, ctx.suggestions)
    return Draft(
        body=body,
        priority=priority,
        category=category,
        team=ctx.intake.team_for(body),
        offer=notify.article_offer(suggestions),
        macro=await macro_card.suggestion_for_new(ctx, body),
        report=incident_detection.read_report(ctx, body),
    )


async def open_ticket(
    ctx: DeskContext,
    uow: UnitOfWork,
    customer: UserRef,
    channel: str,
    thread: str,
    draft: Draft,
    *,
    message_id: str | None = None,
    subject: str | None = None,
) -> Ticket | None:
    """Open a ticket whose customer thread is `channel`/`thread` ("" = the bot's first post starts it)."""
    now = ctx.clock.now()
    limit = ctx.intake.max_open_per_customer
    if limit and await uow.tickets.count_active_for_customer(customer) >= limit:
        active = await uow.tickets.list_tickets(
            TicketQuery(customer=customer, statuses=[s for s in Status if s.is_active], limit=limit)
        )
        refusal = notify.limit_reached([t.number for t in active], limit)
        dest = Destination(
            kind=DestinationKind.THREAD, platform=customer.platform, channel=channel, thread=thread or None
        )
        await uow.outbox.enqueue(dest, refusal, at=now)
        return None
    body, priority, category = draft.body, draft.priority, draft.category
    ticket = await uow.tickets.insert_ticket(
        subject=subject_from(subject) if subject and subject.strip() else subject_from(body),
        description=body,
        customer=customer,
        origin=ThreadRef(platform=customer.platform, channel=channel, thread=thread),
        priority=priority,
        category=category,
        at=now,
    )
    work = TicketWork(ctx, uow, ticket, customer)
    work.is_new = True
    suggested = [article.id for article in draft.offer.articles]
    if draft.macro:
        await uow.macros.remember_suggestion(ticket.number, draft.macro)
        await work.event("opened", priority=priority.value, category=category, suggested=suggested, macro=draft.macro)
    else:
        await work.event("opened", priority=priority.value, category=category, suggested=suggested)
    if suggested:
        await uow.articles.record_feedback(ticket.number, suggested, "suggested", now)
    await work.log(body, author=customer, role="customer", platform_message_id=message_id or thread or None)
    ack = notify.acknowledgement(ticket, draft.offer)
    joined = await incident_detection.on_new_ticket(ctx, uow, ticket, draft.report)
    if joined is not None:
        ack = incident_notify.with_incident(ack, joined.incident, joined.latest)
    await work.to_customer(ack)
    await routing.on_open(work, channel, draft.team)
    work.touch()
    await work.finish()
    if joined is not None:  # after the card is queued, so the note lands in the card's thread
        await work.to_card_thread(incident_notify.linked_note(ticket, joined.incident, joined.how))
    return ticket


async def _join(
    ctx: DeskContext,
    uow: UnitOfWork,
    ticket: Ticket,
    msg: IncomingMessage,
    body: str,
    in_card_thread: bool,
) -> None:
    work = TicketWork(ctx, uow, ticket, msg.author)
    role = ctx.roles.role_of(msg.author)
    if in_card_thread:
        # the card's thread is the agents' room: recorded, never shown to the customer
        await work.log(
            body,
            author=msg.author,
            role=_role_name(role),
            visibility="internal",
            platform_message_id=msg.message_id,
        )
        return
    if role.at_least(Role.AGENT) and not msg.author.same(ticket.customer):
        # an agent answering in the customer's own thread: the customer already sees it
        await work.log(body, author=msg.author, role="agent", platform_message_id=msg.message_id)
        await work.record(ticket.agent_wrote(work.now))
        await work.finish()
        return
    if pleasantries.keeps_status(ticket) and (kind := pleasantries.pleasantry_in(msg, body)) is not None:
        # "thanks!" after a resolution is noted on the ticket without reopening it
        await pleasantries.note_on_ticket(ctx, uow, ticket, msg, body, kind)
        return
    await work.log(body, author=msg.author, role="customer", platform_message_id=msg.message_id)
    # a pending or resolved ticket opens again; a closed one stays closed, and the customer is told so
    events = await work.record(ticket.customer_wrote())
    if any(isinstance(event, StillClosed) for event in events):
        await work.to_customer(notify.closed_thread(ticket))
    await work.to_card_thread(notify.customer_wrote(ticket, msg.author, body))
    await work.finish()


def _role_name(role: Role) -> str:
    return "customer" if role is Role.CUSTOMER else "agent"


async def incident_note(ctx: DeskContext, uow: UnitOfWork, msg: IncomingMessage, body: str) -> None:
    """What staff write in an incident card's thread is kept on the incident as an internal note."""
    if msg.thread is None or not ctx.roles.role_of(msg.author).at_least(Role.AGENT):
        return
    incident = await uow.incidents.incident_for_card(msg.platform, msg.channel, msg.thread)
    if incident is not None and await uow.inbound.claim_inbound(msg.platform, msg.message_id, ctx.clock.now()):
        work = IncidentWork(ctx, uow, incident, msg.author)
        await work.note(body)
        await work.finish()
