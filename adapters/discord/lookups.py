"""Small reads the adapter needs from the desk: a DM's ticket, ticket-number autocomplete, recent message ids."""

from __future__ import annotations

from collections import OrderedDict

from discord import app_commands

from adapters.discord.translate import PLATFORM
from bot.domain.refs import UserRef
from bot.domain.ticket import Status
from bot.records import TicketQuery
from bot.services.desk import Desk

_NOT_CLOSED = tuple(s for s in Status if s is not Status.CLOSED)
_ACTIVE = tuple(s for s in Status if s.is_active)
CHOICES_LIMIT = 25


async def dm_ticket_thread(desk: Desk, person: UserRef, channel: str) -> str | None:
    """A DM has no threads: it is the conversation of the customer's latest not-yet-closed ticket opened in it."""
    async with desk.ctx.store.reading() as uow:
        found = await uow.tickets.list_tickets(TicketQuery(customer=person, statuses=_NOT_CLOSED, limit=100))
    here = [t for t in found if t.origin.platform == PLATFORM and t.origin.channel == channel]
    if not here:
        return None
    return max(here, key=lambda t: t.created_at).origin.thread or None


async def ticket_choices(desk: Desk, person: UserRef, current: str, staff: bool) -> list[app_commands.Choice[int]]:
    """Active tickets (a customer's own only) whose number starts with, or subject contains, what was typed."""
    query = TicketQuery(statuses=_ACTIVE, customer=None if staff else person, limit=200)
    async with desk.ctx.store.reading() as uow:
        found = await uow.tickets.list_tickets(query)
    wanted = current.strip().lstrip("#").casefold()
    choices = [
        app_commands.Choice(name=f"#{t.number} · {t.subject}"[:100], value=t.number)
        for t in found
        if not wanted or str(t.number).startswith(wanted) or wanted in t.subject.casefold()
    ]
    return choices[:CHOICES_LIMIT]


async def macro_choices(desk: Desk, person: UserRef, current: str) -> list[app_commands.Choice[str]]:
    """Macros `person` may use (shared and their own), most used first, whose name contains what was typed."""
    async with desk.ctx.store.reading() as uow:
        found = await uow.macros.visible(person.key)
    wanted = current.strip().casefold()
    return [
        app_commands.Choice(name=f"{m.name} · {' '.join(m.body.split())}"[:100], value=m.name)
        for m in found
        if not wanted or wanted in m.name
    ][:CHOICES_LIMIT]


class RecentIds:
    """The last `size` message ids seen: a gateway replay delivers a message twice. The core ignores repeats
    anyway; this spares the second private thread such a repeat would otherwise create."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def seen(self, message_id: int) -> bool:
        if message_id in self._ids:
            return True
        self._ids[message_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False
