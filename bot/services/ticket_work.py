"""One change to one ticket: state, history, message log and the posts it causes — one transaction.

The ticket's own methods (`Ticket.claim`, `resolve`, `customer_wrote` …) decide the change and return events;
`TicketWork.record` persists them (history rows, the ticket saved), and `finish` — once per unit of work —
saves the ticket, applies the follow-ups (timers, the rating, the transcript), queues the card and publishes
the webhook events.
"""

from __future__ import annotations

from typing import Any

from bot import logcontext
from bot.domain.refs import UserRef, bot_user
from bot.domain.ticket import Ticket
from bot.domain.ticket_events import Events, TicketEvent, changed, history
from bot.outbound import Destination, DestinationKind, Field, Message
from bot.ports import UnitOfWork
from bot.services import dashboard_link, followups, leads_notify, macro_card, notify, transcripts
from bot.services.desk_context import DeskContext
from bot.webhooks import events as webhook_events
from bot.webhooks.payload import person, ticket_data
from bot.webhooks.publish import publish


class TicketWork:
    """Collects what a command does to a ticket. Nothing leaves the process until the transaction commits."""

    def __init__(self, ctx: DeskContext, uow: UnitOfWork, ticket: Ticket, actor: UserRef) -> None:
        self.ctx = ctx
        self.uow = uow
        self.ticket = ticket
        self.actor = actor
        self.now = ctx.clock.now()
        self._card_dirty = False
        self._save = False
        self.is_new = False
        self.loaded_status = ticket.status  # what the ticket was before this command (for follow-ups)
        #: what the ticket's methods did in this unit of work, in order (`record`)
        self.events: list[TicketEvent] = []
        self._finished = False
        # webhook events wait for the end of the command, so they carry the ticket as it ends up
        self._hooks: list[tuple[webhook_events.Hook, str, UserRef, dict[str, Any]]] = []
        self._logged: list[dict[str, Any]] = []
        self.team: str | None = None  # the ticket's team, once looked up (`queue`)
        self._team_loaded = False
        #: posts that must follow the card (a new one is posted first): for the card's thread, or, with a person,
        #: to them directly (the assignee's note, which links the card)
        self.after_card: list[tuple[Message, UserRef | None]] = []
        logcontext.bind(ticket=ticket.number)

    @property
    def platform(self) -> str:
        return self.ticket.customer.platform

    @property
    def desk_platform(self) -> str:
        """Where the agents work this ticket: its card, card thread and alerts (e-mail tickets: a chat)."""
        return self.ctx.desk_platform(self.platform)

    async def record(self, events: Events) -> Events:
        """Persist what a `Ticket` method did: each event's history row, in order; when the ticket changed, it
        is saved and its card refreshed at `finish`. Returns `events` (empty: nothing needed doing)."""
        self.events.extend(events)
        for row in history(events):
            await self.event(row.kind, by=row.by, **row.detail)
        if changed(events):
            self.touch()
        return events

    async def event(self, kind: str, *, by: UserRef | None = None, **detail: Any) -> None:
        actor = by or self.actor
        await self.uow.history.add_event(self.ticket.number, self.now, actor, kind, **detail)
        hook = webhook_events.hook_for(kind, detail) if self.ctx.webhooks else None
        if hook is not None:
            self._hooks.append((hook, kind, actor, detail))

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
        if self.ctx.webhooks:
            self._logged.append(
                {"author": person(author), "role": role, "visibility": visibility, "body": body, "at": self.now}
            )
        return await self.uow.messages.add_message(
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
        await self.uow.outbox.enqueue(dest, message, at=self.now, ticket=self.ticket.number, log_message=logged)

    async def queue(self) -> str | None:
        """Where the ticket's card lives: its team's own queue channel, else the platform's."""
        if self.ctx.teams and not self._team_loaded and self.team is None:
            self.team = await self.uow.routing.team_of(self.ticket.number)
        self._team_loaded = True
        desk = self.desk_platform
        return self.ctx.teams.queue_channel(self.team, desk) or self.ctx.channels(desk).queue_channel

    async def to_card_thread(self, message: Message, *, log_message: int | None = None) -> None:
        queue = await self.queue()
        if queue:
            dest = Destination.card_thread(self.desk_platform, queue, self.ticket.number)
            await self.uow.outbox.enqueue(
                dest, message, at=self.now, ticket=self.ticket.number, log_message=log_message
            )

    async def to_person(self, person: UserRef, message: Message) -> None:
        """To one person directly (a DM on their platform), about this ticket: delivered after the posts to the
        ticket's card, so a `Link` without address in it becomes the card's (see `Link`)."""
        dest = Destination.direct(person.platform, person.id, self.ticket.number)
        await self.uow.outbox.enqueue(dest, message, at=self.now, ticket=self.ticket.number)

    async def to_leads(self, message: Message) -> None:
        leads = self.ctx.channels(self.desk_platform).leads_channel
        if leads:
            dest = Destination(kind=DestinationKind.CHANNEL, platform=self.desk_platform, channel=leads)
            await self.uow.outbox.enqueue(dest, message, at=self.now, ticket=self.ticket.number)

    def touch(self) -> None:
        """Mark the ticket changed: saved and its queue card refreshed at the end."""
        self._card_dirty = self._save = True

    def refresh_card(self) -> None:
        """Re-render the queue card without changing the ticket (an SLA alert changes what it shows)."""
        self._card_dirty = True

    async def finish(self) -> None:
        """End the unit of work on this ticket: save it, apply the follow-ups, queue its card, publish the
        webhook events. Exactly once; posts queued afterwards (a note under a new card) are still fine."""
        if self._finished:
            raise RuntimeError(f"TicketWork.finish ran twice for {self.ticket.ref}")
        self._finished = True
        if self._card_dirty:
            await self._refresh()
        if self._hooks:
            await self._publish_hooks()

    async def _refresh(self) -> None:
        if self._save and not self.is_new:
            self.ticket.updated_at = self.now
            await self.uow.tickets.save_ticket(self.ticket)
        before = None if self.is_new else self.loaded_status
        plan = await followups.apply(self.ctx, self.uow, self.ticket, self.now, before=before, events=self.events)
        if plan.survey:
            await self._ask_rating()
        if plan.closed:
            await transcripts.at_close(self)
            await dashboard_link.post_transcript_link(self)
        queue = await self.queue()
        if queue:
            dest = Destination.card(self.desk_platform, queue, self.ticket.number)
            via = notify.platform_name(self.platform) if self.desk_platform != self.platform else ""
            card = await macro_card.decorate(self, notify.card(self.ticket, self.now, sla=plan.sla_line, via=via))
            if self.team:
                card = card.model_copy(update={"fields": (*card.fields, Field(name="Team", value=self.team))})
            # a new ticket has no card waiting to be coalesced with
            await self.uow.outbox.enqueue(dest, card, at=self.now, ticket=self.ticket.number, coalesce=not self.is_new)
        notes, self.after_card = self.after_card, []
        for note, to in notes:  # after the card (a new one is posted first)
            if to is None:
                await self.to_card_thread(note)
            else:
                await self.to_person(to, note)

    async def _ask_rating(self) -> None:
        """The customer of a ticket that has just closed is asked for a rating (the store keeps it to once)."""
        if await self.uow.csat.ask(self.ticket.number, self.now):
            await self.event("csat_requested", by=bot_user(self.platform))
            await self.to_customer(leads_notify.csat_request(self.ticket))

    async def _publish_hooks(self) -> None:
        """Queue the webhook events this command caused, each with the ticket as it is now."""
        hooks, self._hooks = self._hooks, []
        snapshot = ticket_data(self.ticket)
        for hook, kind, actor, detail in hooks:
            data: dict[str, Any] = {"ticket": snapshot, "event": {"kind": kind, "actor": person(actor), **detail}}
            if hook.message is not None:
                found = self._take_message(*hook.message)
                if found is not None:
                    data["message"] = {**found, "at": found["at"].isoformat().replace("+00:00", "Z")}
            await publish(
                self.uow,
                self.ctx.webhooks,
                hook.type,
                data,
                at=self.now,
                ticket=self.ticket.number,
                internal=hook.internal,
            )

    def _take_message(self, role: str, visibility: str) -> dict[str, Any] | None:
        for i, logged in enumerate(self._logged):
            if logged["role"] == role and logged["visibility"] == visibility:
                return self._logged.pop(i)
        return None
