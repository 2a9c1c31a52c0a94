"""Transcripts at close: written to files, posted to the platform's `archive_channel` (the agents' copy, as
HTML and Markdown) and, with `[transcripts] to_customer`, sent to the customer (their copy, HTML).

Runs inside the closing command's transaction (from `TicketWork.finish`), so the posts are in the
outbox with the close itself; rendering a ticket's log is a few milliseconds of pure work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.ticket import Ticket
from bot.outbound import Destination, DestinationKind, Message
from bot.ports import UnitOfWork
from bot.services.history_text import describe_event
from bot.services.notify import platform_name, relay
from bot.transcripts.render import Audience, HistoryEntry, Line, Transcript, html_page, markdown

if TYPE_CHECKING:
    from bot.services.ticket_work import TicketWork


async def load(uow: UnitOfWork, ticket: Ticket) -> Transcript:
    messages = await uow.messages.messages_for(ticket.number)
    events = await uow.history.events_for(ticket.number)
    survey = await uow.csat.get(ticket.number)
    rating = None
    if survey is not None and survey.rating is not None:
        rating = f"{survey.rating}/5" + (f" — {survey.comment}" if survey.comment else "")
    return Transcript(
        ticket=ticket,
        lines=[Line(m.at, m.author.display, m.author_role, m.visibility, m.delivery, m.body) for m in messages],
        history=[HistoryEntry(e.at, e.actor.display, describe_event(e)) for e in events],
        rating=rating,
        channel=platform_name(ticket.customer.platform),
    )


@dataclass(frozen=True)
class Files:
    agents_html: Path
    agents_md: Path
    customer_html: Path
    customer_md: Path


def write_files(folder: Path, transcript: Transcript, now: datetime) -> Files:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"ticket-{transcript.ticket.number}-{now:%Y%m%dT%H%M%S}"
    files = Files(
        agents_html=folder / f"{stem}-agents.html",
        agents_md=folder / f"{stem}-agents.md",
        customer_html=folder / f"{stem}-customer.html",
        customer_md=folder / f"{stem}-customer.md",
    )
    files.agents_html.write_text(html_page(transcript, Audience.AGENTS, now), encoding="utf-8")
    files.agents_md.write_text(markdown(transcript, Audience.AGENTS, now), encoding="utf-8")
    files.customer_html.write_text(html_page(transcript, Audience.CUSTOMER, now), encoding="utf-8")
    files.customer_md.write_text(markdown(transcript, Audience.CUSTOMER, now), encoding="utf-8")
    return files


async def at_close(work: TicketWork) -> None:
    ctx, t = work.ctx, work.ticket
    if not ctx.transcripts.enabled or ctx.transcripts_dir is None:
        return
    transcript = await load(work.uow, t)
    files = write_files(ctx.transcripts_dir, transcript, work.now)
    platform = work.desk_platform
    archive = ctx.channels(platform).archive_channel
    if archive:
        dest = Destination(kind=DestinationKind.CHANNEL, platform=platform, channel=archive)
        internal = sum(1 for line in transcript.lines if line.visibility == "internal")
        summary = (
            f"🗂 Transcript of {t.ref} · {relay(t.subject)} — {t.customer.display} via {transcript.channel} · "
            f"{len(transcript.lines)} message(s), {internal} internal (agents' copy)"
        )
        for text, path in ((summary, files.agents_html), (f"{t.ref} transcript as Markdown", files.agents_md)):
            await work.uow.outbox.enqueue(dest, Message(text=text, attachment=str(path)), at=work.now, ticket=t.number)
    if ctx.transcripts.to_customer:
        await work.to_customer(
            Message(text=f"Here is the transcript of {t.ref} for your records.", attachment=str(files.customer_html))
        )
