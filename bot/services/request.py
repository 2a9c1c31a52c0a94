"""A parsed command together with who ran it and where, and the ticket it is about."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.domain.commands import Command
from bot.domain.errors import CommandError, UnknownTicket
from bot.domain.inbound import Place
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.services.desk_context import DeskContext
from bot.services.ticket_work import TicketWork


@dataclass(frozen=True)
class Request:
    actor: UserRef
    role: Role
    command: Command
    place: Place | None = None
    number: int | None = None  # the ticket: from the command, or from the thread it was run in

    @property
    def is_staff(self) -> bool:
        return self.role.at_least(Role.AGENT)

    @property
    def ticket_number(self) -> int:
        if self.number is None:
            spec = self.command.spec
            raise CommandError(
                f"Which ticket? Use `/{spec.group} {spec.name} 42 …`, or run it inside the ticket's thread."
            )
        return self.number


@asynccontextmanager
async def ticket_work(ctx: DeskContext, req: Request) -> AsyncIterator[TicketWork]:
    """Load the request's ticket in a transaction; customers only ever reach their own tickets."""
    number = req.ticket_number
    async with ctx.store.transaction() as uow:
        ticket = await uow.tickets.get_ticket(number)
        if ticket is None or (not req.is_staff and not ticket.customer.same(req.actor)):
            raise UnknownTicket(number)
        await ctx.remember(uow, req.actor)
        work = TicketWork(ctx, uow, ticket, req.actor)
        yield work
        await work.finish()
