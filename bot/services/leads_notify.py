"""What the bot says for SLA alerts, reminders, auto-close and satisfaction surveys (neutral messages)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.refs import UserRef
from bot.domain.sla import Level, Target
from bot.domain.ticket import Ticket, humanize_span
from bot.outbound import Button, Message
from bot.services.notify import relay


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def sla_alert(
    ticket: Ticket,
    target: Target,
    level: Level,
    due_at: datetime,
    breach_at: datetime | None,
    now: datetime,
    notify: Sequence[UserRef],
    late: bool,
) -> Message:
    """A warning before a target, or the alert at breach; says so when it fires late (bot was down)."""
    who = ", ".join(f"@{p.display}" for p in notify) or "nobody on duty"
    subject = relay(ticket.subject)
    if level is Level.WARNING:
        left = f"due in {humanize_span(breach_at - now)}" if breach_at and breach_at > now else "due now"
        head = f"⏳ SLA warning: {ticket.ref} {target.label} {left} ({_when(breach_at or due_at)})"
    else:
        head = f"🚨 SLA breached: {ticket.ref} {target.label} target missed at {_when(due_at)}"
    text = f"{head}\n{subject} · {ticket.priority.value} · {ticket.status.label} — {who}"
    if late:
        text += (
            f"\n(late: this alert was due at {_when(due_at)}, while ThreadDesk was not running; "
            f"sent {humanize_span(now - due_at)} late)"
        )
    return Message(
        text=text,
        mentions=tuple(notify),
        buttons=(Button(label="Show", command=f"/ticket show {ticket.number}"),),
    )


def csat_request(ticket: Ticket) -> Message:
    n = ticket.number
    return Message(
        text=(
            f"How did we do on {ticket.ref}? Rate us from 1 (poor) to 5 (great) with the buttons. "
            f"To add a comment, type `/ticket rate {n} <1-5> <comment>`."
        ),
        buttons=(
            *(Button(label=f"Rate {r}", command=f"/ticket rate {n} {r}") for r in range(1, 6)),
            Button(
                label="Rate with a comment", command=f"/ticket rate {n}", prompt="Your rating (1-5), then a comment"
            ),
        ),
    )


def pending_reminder(ticket: Ticket, waiting: timedelta) -> Message:
    return Message(
        text=(
            f"Just checking in on {ticket.ref}: we're still waiting for your reply "
            f"(for {humanize_span(waiting)}). Answer in this thread and we'll pick it up."
        )
    )


def auto_closed(ticket: Ticket, days: float) -> Message:
    return Message(
        text=(
            f"{ticket.ref} is now closed: it was resolved {days:g} day(s) ago with no reply. "
            f"Reopen it any time with `/ticket reopen {ticket.number}`."
        ),
        buttons=(Button(label="Reopen", command=f"/ticket reopen {ticket.number}"),),
    )
