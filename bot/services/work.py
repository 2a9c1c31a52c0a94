"""One change to one ticket: state, history, message log and the posts it causes — one transaction."""

from __future__ import annotations

from typing import Any

import aiosqlite

from bot import logcontext
from bot.domain.refs import UserRef, bot_user
from bot.domain.ticket import Ticket
from bot.outbound import Destination, DestinationKind, Field, Message
from bot.services import followups, macro_card, notify
from bot.services.context import DeskContext
from bot.store import outbox, routing, tickets


class TicketWork:
    """Collects what a command does to a ticket. Nothing leaves the process until the transaction commits."""

    def __init__(self, ctx: DeskContext, conn: aiosqlite.Connection, ticket: Ticket, actor: UserRef) -> None:
        self.ctx = ctx
        self.conn = conn
        self.ticket = ticket
        self.actor = actor
        self.now = ctx.clock.now()
        self._card_dirty = False
        self._save = False
        self.is_new = False
        self.loaded_status = ticket.status  # what the ticket was before this command (for follow-ups)
        self.team: str | None = None  # the ticket's team, once looked up (`queue`)
        self._team_loaded = False
        #: posts for the card's thread that must follow the card (the assignee's note on a new ticket)
        self.after_card: list[Message] = []
        logcontext.bind(ticket=ticket.number)

    @property
    def platform(self) -> str:
        return self.ticket.customer.platform

    async def event(self, kind: str, *, by: UserRef | None = None, **detail: Any) -> None:
        actor = by or self.actor
        await tickets.add_event(self.conn, self.ticket.number, self.now, actor, kind, **detail)

    async def log(
        self,
        body: str,
        *,
        author: UserRef,
        role: str,
        visibility: str = "public",
        delivery: str = "received",
        platform_message_id: str | None = None,
    ) -> int:
        return await tickets.add_message(
            self.conn,
            self.ticket.number,
            self.now,
            author,
            role=role,
            visibility=visibility,
            body=body,
            delivery=delivery,
            platform_message_id=platform_message_id,
        )

    async def to_customer(
        self, message: Message, *, author: UserRef | None = None, role: str = "bot", body: str | None = None
    ) -> None:
        """Post into the customer's thread, logged (as `body`, or the post's text) with its delivery state."""
        logged = await self.log(
            body if body is not None else message.text,
            author=author or bot_user(self.platform),
            role=role,
            delivery="queued",
        )
        dest = Destination.customer(self.platform, self.ticket.number)
        await outbox.enqueue(self.conn, dest, message, at=self.now, ticket=self.ticket.number, log_message=logged)

    async def queue(self) -> str | None:
        """Where the ticket's card lives: its team's own queue channel, else the platform's."""
        if self.ctx.teams and not self._team_loaded and self.team is None:
            self.team = await routing.team_of(self.conn, self.ticket.number)
        self._team_loaded = True
        return self.ctx.teams.queue_channel(self.team, self.platform) or self.ctx.channels(self.platform).queue_channel

    async def to_card_thread(self, message: Message, *, log_message: int | None = None) -> None:
        queue = await self.queue()
        if queue:
            dest = Destination.card_thread(self.platform, queue, self.ticket.number)
            await outbox.enqueue(
                self.conn, dest, message, at=self.now, ticket=self.ticket.number, log_message=log_message
            )

    async def to_leads(self, message: Message) -> None:
        leads = self.ctx.channels(self.platform).leads_channel
        if leads:
            dest = Destination(kind=DestinationKind.CHANNEL, platform=self.platform, channel=leads)
            await outbox.enqueue(self.conn, dest, message, at=self.now, ticket=self.ticket.number)

    def touch(self) -> None:
        """Mark the ticket changed: saved and its queue card refreshed at the end."""
        self._card_dirty = self._save = True

    def refresh_card(self) -> None:
        """Re-render the queue card without changing the ticket (an SLA alert changes what it shows)."""
        self._card_dirty = True

    async def finish(self) -> None:
        if not self._card_dirty:
            return
        if self._save and not self.is_new:
            self.ticket.updated_at = self.now
            await tickets.save_ticket(self.conn, self.ticket)
        sla_line = await followups.after_change(self)
        queue = await self.queue()
        if queue:
            dest = Destination.card(self.platform, queue, self.ticket.number)
            card = await macro_card.decorate(self, notify.card(self.ticket, self.now, sla=sla_line))
            if self.team:
                card = card.model_copy(update={"fields": (*card.fields, Field(name="Team", value=self.team))})
            # a new ticket has no card waiting to be coalesced with
            await outbox.enqueue(
                self.conn, dest, card, at=self.now, ticket=self.ticket.number, coalesce=not self.is_new
            )
        notes, self.after_card = self.after_card, []
        for note in notes:  # in the card's thread, so after the card (a new one is posted first)
            await self.to_card_thread(note)
