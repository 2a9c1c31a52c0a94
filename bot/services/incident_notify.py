"""What the bot says about incidents, as neutral messages. Customers only ever read the incident's title and
its public updates — never who else reported it, never the agents' notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.incident import Incident, IncidentStatus, IncidentUpdate
from bot.domain.text import shorten
from bot.domain.ticket import Ticket, humanize_duration
from bot.outbound import Button, ButtonStyle, Choice, Field, Message
from bot.services.notify import relay


def aware(incident: Incident, latest: IncidentUpdate | None) -> str:
    """The sentence a customer reads when their ticket joins an incident (acknowledgement or link)."""
    text = f"We're aware of an ongoing issue: {relay(incident.title)}. We'll update you here."
    if latest is not None:
        text += f"\nLatest update ({latest.status.value}, {latest.at:%H:%M} UTC): {relay(latest.text)}"
    return text


def with_incident(ack: Message, incident: Incident, latest: IncidentUpdate | None) -> Message:
    """A new ticket's acknowledgement, saying it joined an ongoing incident."""
    first, _, rest = ack.text.partition("\n")
    text = "\n".join(part for part in (first, aware(incident, latest), rest) if part)
    return ack.model_copy(update={"text": text})


def joined(incident: Incident, latest: IncidentUpdate | None) -> Message:
    return Message(text=aware(incident, latest))


def update_for_customer(incident: Incident, status: IncidentStatus, text: str) -> Message:
    return Message(text=f"Update on {relay(incident.title)} ({status.value}): {relay(text)}")


def card(incident: Incident, linked: int, now: datetime, latest: IncidentUpdate | None) -> Message:
    """The incident's card in the queue channel, edited in place as reports join and updates go out."""
    owner = incident.owner.display if incident.owner else "unassigned"
    title = relay(incident.title)
    fields = [
        Field(name="Status", value=incident.status.value),
        Field(name="Linked tickets", value=str(linked)),
        Field(name="Owner", value=owner),
        Field(name="Opened", value=_ago(now - incident.created_at)),
    ]
    if latest is not None:
        fields.append(Field(name="Last update", value=shorten(relay(latest.text), 200)))
    if incident.resolution:
        fields.append(Field(name="Resolution", value=shorten(relay(incident.resolution), 200)))
    n = incident.id
    buttons: tuple[Button, ...] = ()
    choice = None
    if incident.is_open:
        buttons = (
            Button(
                label="Update",
                command=f"/incident update {n}",
                prompt=f"Update for the {linked} affected customer(s)",
                style=ButtonStyle.PRIMARY,
            ),
            Button(
                label="Resolve",
                command=f"/incident resolve {n}",
                prompt="Resolution summary (every linked customer sees it)",
            ),
        )
        choice = Choice(
            placeholder="Set status",
            options=tuple(
                Button(label=s.value, command=f"/incident status {n} {s.value}")
                for s in IncidentStatus
                if s.is_open and s is not incident.status
            ),
        )
    text = f"🔥 {incident.ref} [{incident.status.value}] {title} — {linked} linked ticket(s) · {owner}"
    return Message(
        text=text, title=f"🔥 {incident.ref} · {title}", fields=tuple(fields), buttons=buttons, choice=choice
    )


def proposal(tickets: Sequence[Ticket], title: str, span_seconds: float) -> Message:
    """Detection on the queue channel: the reports it would link, and Create incident / Dismiss."""
    customers = len({t.customer.key for t in tickets})
    span = _span(timedelta(seconds=span_seconds))
    lines = [f"🔎 Possible incident: {len(tickets)} similar reports from {customers} customers within {span}"]
    lines += [f"• {t.ref} {t.customer.display}: {shorten(relay(t.subject), 80)}" for t in tickets]
    numbers = " ".join(f"#{t.number}" for t in tickets)
    return Message(
        text="\n".join(lines),
        buttons=(
            Button(
                label="Create incident",
                command=f"/incident new {_one_line(title)} {numbers}",
                style=ButtonStyle.PRIMARY,
            ),
            Button(label="Dismiss", command=f"/incident dismiss {numbers}"),
        ),
    )


def linked_note(ticket: Ticket, incident: Incident, how: str) -> Message:
    """In the ticket's card thread: why it joined the incident, and the one button that undoes it."""
    why = {"auto": "automatically (it reads like the incident's reports)", "detected": "from the proposal"}.get(
        how, "by an agent"
    )
    return Message(
        text=f"{ticket.ref} is linked to {incident.ref} · {relay(incident.title)} {why}.",
        buttons=(
            Button(label=f"Unlink from {incident.ref}", command=f"/incident unlink {incident.id} #{ticket.number}"),
        ),
    )


def opened_for_leads(incident: Incident, linked: int, by: str) -> Message:
    return Message(
        text=f"🔥 Incident {incident.ref} opened {by}: {relay(incident.title)} — {linked} linked ticket(s).",
        buttons=(Button(label="Show", command=f"/incident show {incident.id}"),),
    )


def resolved_for_leads(incident: Incident, resolved: int, by: str) -> Message:
    took = _span((incident.resolved_at or incident.created_at) - incident.created_at)
    return Message(
        text=(
            f"✅ Incident {incident.ref} resolved by {by} after {took}: {relay(incident.title)} — "
            f"{relay(incident.resolution or '')} ({resolved} ticket(s) resolved)."
        ),
        buttons=(Button(label="Show", command=f"/incident show {incident.id}"),),
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _span(delta: timedelta) -> str:
    shown = humanize_duration(delta)
    return "under a minute" if shown == "just now" else shown


def _ago(delta: timedelta) -> str:
    shown = humanize_duration(delta)
    return shown if shown == "just now" else f"{shown} ago"
