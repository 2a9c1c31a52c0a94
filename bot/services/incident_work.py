"""One change to one incident and the tickets it touches — one transaction.

Every post an incident causes (each linked customer's update, each resolution, the card, the leads' line)
is written to the outbox in the same transaction as the change, once per thread: the delivery worker then
sends each row once, and after a restart resumes the rows not yet sent. So a broadcast reaches every linked
customer exactly once, however it is interrupted.

The `incident.*` webhook events wait for `finish`, like a ticket's, so each carries the incident as the
command leaves it; they are queued in the same transaction and ordered per endpoint and incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.incident import Incident, IncidentStatus, IncidentUpdate
from bot.domain.refs import UserRef
from bot.domain.ticket import Status, Ticket
from bot.outbound import Destination, DestinationKind, Message
from bot.ports import UnitOfWork
from bot.services import incident_notify, notify
from bot.services.desk_context import DeskContext
from bot.services.ticket_work import TicketWork
from bot.webhooks.payload import incident_data, incident_update_data, person
from bot.webhooks.publish import publish


@dataclass(frozen=True)
class _Hook:
    """An `incident.*` event waiting for the end of the unit of work."""

    type: str
    kind: str
    detail: dict[str, Any]
    update: dict[str, Any] | None  # the log entry it is about (`data.update`)
    internal: bool  # an internal note: only endpoints with include_internal get it


class IncidentWork:
    def __init__(self, ctx: DeskContext, uow: UnitOfWork, incident: Incident, actor: UserRef) -> None:
        self.ctx = ctx
        self.uow = uow
        self.incident = incident
        self.actor = actor
        self.now = ctx.clock.now()
        self.is_new = False
        self._dirty = False
        self._hooks: list[_Hook] = []

    def touch(self) -> None:
        self._dirty = True

    def _hook(
        self,
        kind: str,
        *,
        update: tuple[IncidentUpdate, str] | None = None,
        internal: bool = False,
        **detail: Any,
    ) -> None:
        """Queue `incident.<kind>` for the end of the unit of work (only when webhooks are configured)."""
        if self.ctx.webhooks:
            data = incident_update_data(*update) if update is not None else None
            self._hooks.append(_Hook(f"incident.{kind}", kind, detail, data, internal))

    def _update(self, status: IncidentStatus, text: str) -> tuple[IncidentUpdate, str]:
        return IncidentUpdate(at=self.now, author=self.actor, status=status, text=text), "public"

    def status_changed(self, before: IncidentStatus, after: IncidentStatus) -> None:
        """`/incident status`: the status moved (any text is broadcast, and published, on its own)."""
        self._hook("status_changed", before=before.value, after=after.value)

    async def note(self, text: str) -> None:
        """An internal note on the incident (the card's thread): kept, never shown to customers, and
        published only to endpoints with `include_internal = true`."""
        inc = self.incident
        await self.uow.incidents.add_update(inc.id, self.now, self.actor, inc.status, text, visibility="internal")
        note = IncidentUpdate(at=self.now, author=self.actor, status=inc.status, text=text)
        self._hook("updated", update=(note, "internal"), internal=True)

    async def linked(self) -> list[Ticket]:
        found = []
        for number in await self.uow.incidents.linked_tickets(self.incident.id):
            ticket = await self.uow.tickets.get_ticket(number)
            if ticket is not None:
                found.append(ticket)
        return found

    async def link(self, ticket: Ticket, how: str, *, tell_customer: bool = True) -> None:
        """Link `ticket`; its customer hears that we know and the card's thread says why — unless the
        ticket is being opened right now (`tell_customer=False`): its acknowledgement says it, and intake
        notes it under the card once the card is queued."""
        inc = self.incident
        await self.uow.incidents.link(inc.id, ticket.number, self.now, how)
        work = TicketWork(self.ctx, self.uow, ticket, self.actor)
        await work.event("incident_linked", incident=inc.ref, title=inc.title, how=how)
        if tell_customer:
            latest = await self.uow.incidents.latest_public_update(inc.id)
            await work.to_customer(incident_notify.joined(inc, latest))
            await work.to_card_thread(incident_notify.linked_note(ticket, inc, how))
        if inc.first_report_at is None or ticket.created_at < inc.first_report_at:
            inc.first_report_at = ticket.created_at
        self._hook("linked", ticket=ticket.number, how=how)
        self.touch()

    async def unlink(self, ticket: Ticket) -> bool:
        if not await self.uow.incidents.unlink(self.incident.id, ticket.number, self.now):
            return False
        await self.uow.incidents.add_negative(self.incident.id, ticket.number, ticket.description, self.now)
        work = TicketWork(self.ctx, self.uow, ticket, self.actor)
        await work.event("incident_unlinked", incident=self.incident.ref)
        self._hook("unlinked", ticket=ticket.number)
        self.touch()
        return True

    async def broadcast(self, text: str, status: IncidentStatus) -> int:
        """Post a public update into every linked customer's thread (closed tickets are left alone)."""
        inc = self.incident
        await self.uow.incidents.add_update(inc.id, self.now, self.actor, status, text, visibility="public")
        message = incident_notify.update_for_customer(inc, status, text)
        sent = 0
        for ticket in await self.linked():
            if ticket.status is Status.CLOSED:
                continue
            work = TicketWork(self.ctx, self.uow, ticket, self.actor)
            await work.event("incident_update", incident=inc.ref, status=status.value)
            await work.to_customer(message, author=self.actor, role="agent", body=message.text)
            await work.record(ticket.record_first_response(work.now))  # an update is a response
            await work.finish()
            sent += 1
        self._hook("updated", update=self._update(status, text), customers_told=sent)
        self.touch()
        return sent

    async def resolve_all(self, summary: str) -> int:
        """Resolve every linked active ticket with `summary`, exactly as `/ticket resolve` would (the
        customer confirms or reopens, and is asked for a rating when the ticket closes)."""
        done = 0
        for ticket in await self.linked():
            if not ticket.status.is_active:
                continue
            work = TicketWork(self.ctx, self.uow, ticket, self.actor)
            await work.record(ticket.resolve(summary, work.now, agent=self.actor, incident=self.incident.ref))
            await work.to_customer(notify.resolution(ticket, self.actor))
            await work.finish()
            done += 1
        inc = self.incident
        inc.status = IncidentStatus.RESOLVED
        inc.resolved_at = self.now
        inc.resolution = summary
        await self.uow.incidents.add_update(
            inc.id, self.now, self.actor, IncidentStatus.RESOLVED, summary, visibility="public"
        )
        self._hook("resolved", update=self._update(IncidentStatus.RESOLVED, summary), tickets_resolved=done)
        self.touch()
        return done

    async def to_leads(self, message: Message) -> None:
        leads = self.ctx.channels(self.incident.platform).leads_channel
        if leads:
            dest = Destination(kind=DestinationKind.CHANNEL, platform=self.incident.platform, channel=leads)
            await self.uow.outbox.enqueue(dest, message, at=self.now)

    async def finish(self) -> None:
        if self._dirty:
            await self._save()
        if self._hooks or (self.is_new and self.ctx.webhooks):
            await self._publish_hooks()

    async def _publish_hooks(self) -> None:
        """Queue the `incident.*` events of this unit of work (`incident.created` first), each with the
        incident as it is now."""
        hooks, self._hooks = self._hooks, []
        if self.is_new:
            hooks.insert(0, _Hook("incident.created", "created", {}, None, False))
        inc = self.incident
        snapshot = incident_data(inc, await self.uow.incidents.linked_tickets(inc.id))
        for hook in hooks:
            data: dict[str, Any] = {
                "incident": snapshot,
                "event": {"kind": hook.kind, "actor": person(self.actor), **hook.detail},
            }
            if hook.update is not None:
                data["update"] = hook.update
            await publish(
                self.uow, self.ctx.webhooks, hook.type, data, at=self.now, incident=inc.id, internal=hook.internal
            )

    async def _save(self) -> None:
        inc = self.incident
        inc.updated_at = self.now
        await self.uow.incidents.save_incident(inc)
        queue = self.ctx.channels(inc.platform).queue_channel
        if queue:
            linked = len(await self.uow.incidents.linked_tickets(inc.id))
            latest = await self.uow.incidents.latest_public_update(inc.id)
            card = incident_notify.card(inc, linked, self.now, latest)
            dest = Destination.incident_card(inc.platform, queue, inc.id)
            await self.uow.outbox.enqueue(dest, card, at=self.now, coalesce=not self.is_new)
