"""`/incident …`: one function per command (agents; leads too). A button on the incident card or the
detection proposal runs the same command text."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bot.domain.errors import CommandError, DeskError
from bot.domain.incident import (
    Incident,
    check_status_change,
    parse_incident_id,
    parse_status,
)
from bot.domain.text import clean_text, shorten
from bot.domain.ticket import Ticket, humanize_duration
from bot.outbound import Field, Message
from bot.ports import UnitOfWork
from bot.records import LoggedUpdate
from bot.services import incident_notify, notify
from bot.services.desk_context import DeskContext
from bot.services.incident_detection import reads_like
from bot.services.incident_work import IncidentWork
from bot.services.replies import Reply
from bot.services.request import Request
from bot.services.ticket_work import TicketWork

_TICKET = re.compile(r"#(\d{1,9})")
_BARE_TICKET = re.compile(r"#?(\d{1,9})")


class UnknownIncident(DeskError):
    def __init__(self, number: int) -> None:
        super().__init__(f"There is no incident INC-{number}. `/incident list` shows the open ones.")


def _split_tickets(words: list[str], *, bare: bool) -> tuple[list[str], list[int]]:
    """Trailing ticket numbers (`#4 #5`; with `bare`, `4 5` too) off the end of `words`."""
    pattern = _BARE_TICKET if bare else _TICKET
    numbers: list[int] = []
    while words:
        match = pattern.fullmatch(words[-1].rstrip(","))
        if not match:
            break
        numbers.insert(0, int(match.group(1)))
        words = words[:-1]
    return words, list(dict.fromkeys(numbers))


def _id_and_rest(req: Request) -> tuple[int, str]:
    head, _, rest = req.command.text.strip().partition(" ")
    if not head:
        raise CommandError(f"Which incident? Usage: `{req.command.spec.usage}`")
    return parse_incident_id(head), rest.strip()


@asynccontextmanager
async def incident_work(ctx: DeskContext, req: Request, number: int) -> AsyncIterator[IncidentWork]:
    async with ctx.store.transaction() as uow:
        incident = await uow.incidents.get_incident(number)
        if incident is None:
            raise UnknownIncident(number)
        await ctx.remember(uow, req.actor)
        work = IncidentWork(ctx, uow, incident, req.actor)
        yield work
        await work.finish()


async def _tickets_to_link(uow: UnitOfWork, numbers: list[int], platform: str, incident: int | None) -> list[Ticket]:
    found: list[Ticket] = []
    for number in numbers:
        ticket = await uow.tickets.get_ticket(number)
        if ticket is None:
            raise CommandError(f"There is no ticket #{number}; nothing was linked.")
        if ticket.customer.platform != platform:
            raise CommandError(
                f"#{number} is a {ticket.customer.platform} ticket; incidents group tickets of one platform."
            )
        other = await uow.incidents.incident_of_ticket(number)
        if other is not None and other != incident:
            raise CommandError(
                f"#{number} is already linked to INC-{other}; "
                f"unlink it there first (`/incident unlink {other} #{number}`)."
            )
        if other is None:
            found.append(ticket)
    return found


async def new(ctx: DeskContext, req: Request) -> Reply:
    words, numbers = _split_tickets(clean_text(req.command.text).split(), bare=False)
    title = " ".join(words).strip()
    if not title:
        raise CommandError("An incident needs a title, e.g. `/incident new Login failures #12 #14`.")
    if len(title) > 120:
        raise CommandError(f"Keep the title under 120 characters (it has {len(title)}); details go in updates.")
    platform = req.actor.platform
    async with ctx.store.transaction() as uow:
        await ctx.remember(uow, req.actor)
        members = await _tickets_to_link(uow, numbers, platform, None)
        if numbers and not members:
            raise CommandError("Every one of those tickets is already linked to an incident.")
        proposed = bool(members) and await uow.incidents.all_proposed([t.number for t in members])
        incident = await uow.incidents.insert_incident(
            platform=platform,
            title=title,
            owner=req.actor,
            source="detected" if proposed else "agent",
            rule=None,
            at=ctx.clock.now(),
        )
        work = IncidentWork(ctx, uow, incident, req.actor)
        work.is_new = True
        if proposed:  # reports that arrived while the proposal waited, and read like it, come along
            members += await _waiting_like(ctx, uow, members)
        for ticket in members:
            await work.link(ticket, "detected" if proposed else "agent")
        await work.to_leads(incident_notify.opened_for_leads(incident, len(members), f"by {req.actor.display}"))
        work.touch()
        await work.finish()
    linked = f", linking {_refs(members)}" if members else ""
    return Reply.done(f"Opened {incident.ref} · {title}{linked}. Its card is in the queue channel.")


async def _waiting_like(ctx: DeskContext, uow: UnitOfWork, members: list[Ticket]) -> list[Ticket]:
    like_them = reads_like(ctx, members)
    chosen = {t.number for t in members}
    since = min(t.created_at for t in members)
    found: list[Ticket] = []
    for report in await uow.incidents.free_reports(members[0].customer.platform, since, exclude=0, state="proposed"):
        if report.ticket in chosen or not like_them(report.text):
            continue
        if ticket := await uow.tickets.get_ticket(report.ticket):
            found.append(ticket)
    return found


def _refs(found: list[Ticket]) -> str:
    return ", ".join(t.ref for t in found)


async def link(ctx: DeskContext, req: Request) -> Reply:
    number, rest = _id_and_rest(req)
    words, numbers = _split_tickets(rest.split(), bare=True)
    if words or not numbers:
        raise CommandError(f"Name the tickets to link, e.g. `/incident link {number} #12 #14`.")
    async with incident_work(ctx, req, number) as work:
        inc = work.incident
        if not inc.is_open:
            raise CommandError(f"{inc.ref} is resolved; open a new incident for a new outage.")
        members = await _tickets_to_link(work.uow, numbers, inc.platform, inc.id)
        for ticket in members:
            await work.link(ticket, "agent")
        total = len(await work.uow.incidents.linked_tickets(inc.id))
    if not members:
        return Reply.done(f"Those tickets are already linked to {inc.ref}.")
    return Reply.done(f"Linked {_refs(members)} to {inc.ref} ({total} linked). Each customer was told we're on it.")


async def unlink(ctx: DeskContext, req: Request) -> Reply:
    number, rest = _id_and_rest(req)
    words, numbers = _split_tickets(rest.split(), bare=True)
    if words or not numbers:
        raise CommandError(f"Name the ticket to unlink, e.g. `/incident unlink {number} #12`.")
    done: list[str] = []
    async with incident_work(ctx, req, number) as work:
        inc = work.incident
        for ticket_number in numbers:
            ticket = await work.uow.tickets.get_ticket(ticket_number)
            if ticket is None or not await work.unlink(ticket):
                raise CommandError(f"#{ticket_number} is not linked to {inc.ref}.")
            if inc.is_open and ticket.status.is_active:
                customer = TicketWork(ctx, work.uow, ticket, req.actor)
                await customer.to_customer(
                    Message(
                        text=f"A correction: {ticket.ref} is not part of the issue we told you about "
                        f"({notify.relay(inc.title)}). An agent will look at it on its own here."
                    )
                )
            done.append(ticket.ref)
    return Reply.done(
        f"Unlinked {', '.join(done)} from {inc.ref}. New reports worded like it will not join {inc.ref} automatically."
    )


async def update(ctx: DeskContext, req: Request) -> Reply:
    number, text = _id_and_rest(req)
    text = clean_text(text)
    if not text:
        raise CommandError(f"What should every affected customer read? `/incident update {number} <text>`.")
    async with incident_work(ctx, req, number) as work:
        inc = work.incident
        if not inc.is_open:
            raise CommandError(f"{inc.ref} is resolved; its customers already have the resolution.")
        sent = await work.broadcast(text, inc.status)
    return Reply.done(f"Update on {inc.ref} sent to {sent} customer thread(s).")


async def status(ctx: DeskContext, req: Request) -> Reply:
    number, rest = _id_and_rest(req)
    head, _, text = rest.partition(" ")
    if not head:
        raise CommandError(f"Which status? `/incident status {number} investigating|identified|monitoring [text]`.")
    target = parse_status(head)
    text = clean_text(text)
    async with incident_work(ctx, req, number) as work:
        inc = work.incident
        check_status_change(inc.ref, inc.status, target)
        before = inc.status
        inc.status = target
        work.status_changed(before, target)
        if text:
            sent = await work.broadcast(text, target)
            told = f" Sent to {sent} customer thread(s)."
        else:
            await work.uow.incidents.add_update(
                inc.id,
                work.now,
                req.actor,
                target,
                f"{before.value} → {target.value}",
                visibility="internal",
            )
            work.touch()
            told = " (No text, so customers were not told; add text to send it to them.)"
    return Reply.done(f"{inc.ref} is now {target.value}.{told}")


async def resolve(ctx: DeskContext, req: Request) -> Reply:
    number, summary = _id_and_rest(req)
    summary = clean_text(summary)
    if not summary:
        raise CommandError(
            f"Resolving needs a summary every linked customer reads: `/incident resolve {number} <summary>`."
        )
    async with incident_work(ctx, req, number) as work:
        inc = work.incident
        if not inc.is_open:
            raise CommandError(f"{inc.ref} is already resolved.")
        done = await work.resolve_all(summary)
        await work.to_leads(incident_notify.resolved_for_leads(inc, done, req.actor.display))
    return Reply.done(
        f"{inc.ref} resolved; {done} linked ticket(s) resolved with your summary. Each customer can confirm or reopen."
    )


async def dismiss(ctx: DeskContext, req: Request) -> Reply:
    words, numbers = _split_tickets(clean_text(req.command.text).split(), bare=True)
    if words or not numbers:
        raise CommandError("Name the reports, e.g. `/incident dismiss #12 #14 #15`.")
    async with ctx.store.transaction() as uow:
        await uow.incidents.set_report_state(numbers, "dismissed")
    return Reply.done(
        f"Dismissed: {', '.join(f'#{n}' for n in numbers)} stay separate tickets "
        "and will not be proposed together again."
    )


@dataclass(frozen=True)
class IncidentRow:
    """An incident as a list shows it."""

    incident: Incident
    linked: int


async def incident_rows(ctx: DeskContext, *, everything: bool) -> list[IncidentRow]:
    """Open incidents (with `everything`, resolved ones too), newest first, with their linked-ticket counts:
    what `/incident list` and the dashboard's incidents page show."""
    async with ctx.store.reading() as uow:
        found = await uow.incidents.list_incidents(open_only=not everything)
        return [IncidentRow(i, len(await uow.incidents.linked_tickets(i.id))) for i in found]


async def list_(ctx: DeskContext, req: Request) -> Reply:
    everything = req.command.text.strip().lower() == "all"
    if req.command.text.strip() and not everything:
        raise CommandError("`/incident list` shows open incidents; `/incident list all` includes resolved ones.")
    now = ctx.clock.now()
    rows = await incident_rows(ctx, everything=everything)
    if not rows:
        return Reply.done("No open incidents." if not everything else "No incidents yet.")
    lines = ["Incidents:" if everything else "Open incidents:"]
    lines += [_line(row.incident, row.linked, now) for row in rows]
    return Reply.done("\n".join(lines))


def _line(i: Incident, linked: int, now: datetime) -> str:
    owner = i.owner.display if i.owner else "unassigned"
    return (
        f"{i.ref} · {i.status.value} · {shorten(notify.relay(i.title), 60)} · {linked} linked · "
        f"{owner} · opened {humanize_duration(now - i.created_at)} ago"
    )


@dataclass(frozen=True)
class IncidentStory:
    """One incident whole, for agents: what `/incident show` and the dashboard's incident page show."""

    incident: Incident
    linked: list[Ticket]
    log: list[LoggedUpdate]  # public updates and internal notes, oldest first
    negatives: int  # unlinked wordings kept as negative examples


async def incident_story(ctx: DeskContext, number: int) -> IncidentStory:
    async with ctx.store.reading() as uow:
        inc = await uow.incidents.get_incident(number)
        if inc is None:
            raise UnknownIncident(number)
        linked = [t for n in await uow.incidents.linked_tickets(number) if (t := await uow.tickets.get_ticket(n))]
        log = await uow.incidents.updates_for(number, public_only=False)
        negatives = len(await uow.incidents.negatives_for(number))
    return IncidentStory(inc, linked, log, negatives)


async def show(ctx: DeskContext, req: Request) -> Reply:
    number, rest = _id_and_rest(req)
    if rest:
        raise CommandError(f"`/incident show {number}` takes no more words.")
    now = ctx.clock.now()
    story = await incident_story(ctx, number)
    inc, linked = story.incident, story.linked
    fields = [
        Field(name="Status", value=inc.status.value),
        Field(name="Owner", value=inc.owner.display if inc.owner else "unassigned"),
        Field(
            name="Opened",
            value=f"{inc.created_at:%Y-%m-%d %H:%M} UTC ({humanize_duration(now - inc.created_at)} ago, {inc.source})",
        ),
        Field(name="Linked tickets", value=str(len(linked))),
    ]
    if inc.first_report_at is not None:
        fields.append(Field(name="Time to detect", value=humanize_duration(inc.created_at - inc.first_report_at)))
    if inc.resolved_at is not None:
        fields.append(Field(name="Time to resolve", value=humanize_duration(inc.resolved_at - inc.created_at)))
    lines = [f"{inc.ref} · {notify.relay(inc.title)}", *(f"{f.name}: {f.value}" for f in fields)]
    lines.append("Linked:")
    lines += [
        f"  {t.ref} · {t.status.label} · {t.customer.display} · {shorten(notify.relay(t.subject), 60)}" for t in linked
    ]
    lines.append("Updates:")
    for entry in story.log:
        u = entry.update
        mark = " [internal]" if entry.visibility == "internal" else ""
        lines.append(
            f"  {u.at:%m-%d %H:%M} {u.author.display} ({u.status.value}){mark}: {shorten(notify.relay(u.text), 200)}"
        )
    if story.negatives:
        lines.append(f"Unlinked wordings kept as negative examples: {story.negatives}")
    return Reply(
        message=Message(text="\n".join(lines), title=f"{inc.ref} · {notify.relay(inc.title)}", fields=tuple(fields))
    )
