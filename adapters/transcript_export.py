"""`threaddesk export --format md|html` (and the ticket/period filters every export format shares)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from bot.domain.ticket import Ticket
from bot.ports import UnitOfWork
from bot.records import TicketQuery
from bot.services import transcripts
from bot.transcripts.render import Audience, Transcript, html_document, markdown_document


class Copy(StrEnum):
    AGENTS = "agents"
    CUSTOMER = "customer"


async def select(uow: UnitOfWork, *, number: int | None, since: datetime | None) -> list[Ticket]:
    """One ticket, or the tickets created or changed since a moment, or all — oldest number first."""
    if number is not None:
        found = await uow.tickets.get_ticket(number)
        return [found] if found is not None else []
    every = await uow.tickets.list_tickets(TicketQuery(limit=10_000_000))
    chosen = [t for t in every if since is None or t.updated_at >= since or t.created_at >= since]
    return sorted(chosen, key=lambda t: t.number)


async def load(uow: UnitOfWork, chosen: Sequence[Ticket]) -> list[Transcript]:
    return [await transcripts.load(uow, t) for t in chosen]


def render(found: Sequence[Transcript], fmt: str, copy: Copy, now: datetime) -> str:
    audience = Audience(copy.value)
    if fmt == "md":
        return markdown_document(found, audience, now)
    title = f"Ticket #{found[0].ticket.number} — transcript" if len(found) == 1 else f"{len(found)} ticket transcripts"
    return html_document(found, audience, now, title=title)
