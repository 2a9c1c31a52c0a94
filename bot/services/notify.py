"""What the bot says, as neutral messages. Pure functions of the ticket: easy to test and to render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.refs import UserRef
from bot.domain.text import neutralise_mentions, shorten
from bot.domain.ticket import Priority, Status, Ticket
from bot.outbound import Button, ButtonStyle, Choice, Field, Message
from kb.article import Article
from kb.matcher import Suggestion

#: Longest relayed text in one post; the full text is always in the ticket's history.
RELAY_CHARS = 3_000
#: Slack caps button text at 75 characters, Discord at 80.
BUTTON_LABEL_CHARS = 75
#: An article posted into a thread; the rest is one `/kb show` away.
ARTICLE_CHARS = 1_500


def relay(text: str) -> str:
    """Customer or agent text shown to someone else: never pings, never floods."""
    safe = neutralise_mentions(text)
    if len(safe) > RELAY_CHARS:
        safe = safe[:RELAY_CHARS].rstrip() + "… (shortened — the full text is in the ticket's history)"
    return safe


@dataclass(frozen=True)
class Offer:
    """The articles a new ticket's acknowledgement offers, with their lines rendered before the ticket exists
    (only the buttons need its number)."""

    articles: tuple[Article, ...] = ()
    text: str = ""


def article_offer(suggestions: Sequence[Suggestion]) -> Offer:
    if not suggestions:
        return Offer()
    text = "\nWhile you wait, these articles may help:"
    for hit in suggestions:
        summary = hit.article.summary(160)
        text += f"\n• {hit.article.title}" + (f" — {summary}" if summary else "")
    return Offer(tuple(hit.article for hit in suggestions), text)


def acknowledgement(ticket: Ticket, offer: Offer) -> Message:
    name = ticket.customer.display
    text = (
        f"Thanks, {name} — we've opened ticket {ticket.ref} (priority: {ticket.priority.value}). "
        "An agent will reply in this thread; add anything else here too."
    )
    if not offer.articles:
        return Message(text=text)
    return Message(text=text + offer.text, buttons=self_service_buttons(ticket.number, offer.articles))


def self_service_buttons(number: int, articles: Sequence[Article]) -> tuple[Button, ...]:
    """“This solved it” for each article, and one “Not what I need”."""
    solved = tuple(
        Button(
            label=shorten(f"This solved it: {article.title}", BUTTON_LABEL_CHARS),
            command=f"/kb accept {number} {article.id}",
            style=ButtonStyle.PRIMARY,
        )
        for article in articles
    )
    return (*solved, Button(label="Not what I need", command=f"/kb reject {number}"))


def article_for_customer(ticket: Ticket, article: Article, agent: UserRef) -> Message:
    """`/kb suggest`: the article itself, in the customer's thread, with the self-service buttons."""
    body = shorten(article.body.strip(), ARTICLE_CHARS) if article.body.strip() else article.summary(ARTICLE_CHARS)
    return Message(
        text=f"{agent.display} suggests this article for {ticket.ref}: {article.title}\n{body}",
        title=article.title,
        markdown=True,
        buttons=self_service_buttons(ticket.number, [article]),
    )


def self_served(ticket: Ticket, article: Article) -> Message:
    return Message(
        text=(
            f"Great — glad “{article.title}” helped. {ticket.ref} is resolved. "
            "If anything else comes up, just write here and it reopens."
        )
    )


def still_needs_help(ticket: Ticket) -> Message:
    return Message(text=f"Thanks for telling us. {ticket.ref} stays with our agents; someone will reply here.")


#: How each platform is named to people ("via e-mail").
PLATFORM_NAMES = {"slack": "Slack", "discord": "Discord", "console": "console", "email": "e-mail"}


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def card(ticket: Ticket, now: datetime, *, sla: str = "", via: str = "") -> Message:
    """The ticket's card in the agents' queue channel, edited in place on every change. `via` names the
    customer's channel when it is not where the card is (an e-mail ticket worked from Slack)."""
    assignee = ticket.assignee.display if ticket.assignee else "unassigned"
    subject = relay(ticket.subject)
    customer = ticket.customer.display + (f" via {via}" if via else "")
    fields = [
        Field(name="Status", value=ticket.status.label),
        Field(name="Priority", value=ticket.priority.value),
        Field(name="Customer", value=customer),
        Field(name="Assignee", value=assignee),
        Field(name="Age", value=ticket.age(now)),
        Field(name="Category", value=ticket.category),
    ]
    if ticket.tags:
        fields.append(Field(name="Tags", value=", ".join(ticket.tags)))
    if sla:
        fields.append(Field(name="SLA", value=sla))
    n = ticket.number
    buttons: list[Button] = []
    choice = None
    if ticket.status.is_active:
        if ticket.assignee is None:
            buttons.append(Button(label="Claim", command=f"/ticket claim {n}", style=ButtonStyle.PRIMARY))
        buttons += [
            Button(label="Reply", command=f"/ticket reply {n}", prompt=f"Reply to {ticket.customer.display}"),
            Button(
                label="Resolve",
                command=f"/ticket resolve {n}",
                prompt="Resolution summary (the customer sees it)",
            ),
        ]
        if ticket.priority is not Priority.URGENT:
            buttons.append(Button(label="Escalate", command=f"/ticket escalate {n}", style=ButtonStyle.DANGER))
        choice = Choice(
            placeholder="Set priority",
            options=tuple(Button(label=p.value, command=f"/ticket priority {n} {p.value}") for p in Priority),
        )
    else:
        buttons.append(Button(label="Reopen", command=f"/ticket reopen {n}"))
        if ticket.resolution_summary and not ticket.resolved_by_kb:
            buttons.append(Button(label="Save as article", command=f"/kb save {n}"))
    text = (
        f"{ticket.ref} [{ticket.priority.value} · {ticket.status.label}] {subject} — "
        f"{customer} · {assignee} · {ticket.age(now)}"
    )
    return Message(
        text=text,
        title=f"{ticket.ref} · {subject}",
        fields=tuple(fields),
        buttons=tuple(buttons),
        choice=choice,
    )


def claimed(agent: UserRef) -> Message:
    return Message(text=f"{agent.display} is looking at this.")


def agent_reply(agent: UserRef, body: str) -> Message:
    return Message(text=f"{agent.display}: {relay(body)}")


_STATUS_FOR_CUSTOMER = {
    Status.OPEN: "We're working on it.",
    Status.PENDING: "We're waiting for your reply — answer in this thread and we'll pick it up.",
    Status.ON_HOLD: "It's on hold while we wait on something outside our team. We'll update you here.",
    Status.CLOSED: "Thanks for reaching out!",
}


def status_changed(ticket: Ticket) -> Message:
    detail = _STATUS_FOR_CUSTOMER.get(ticket.status, "")
    return Message(text=f"{ticket.ref} is now {ticket.status.label}. {detail}".strip())


def resolution(ticket: Ticket, agent: UserRef) -> Message:
    n = ticket.number
    return Message(
        text=(
            f"{ticket.ref} is resolved by {agent.display}: {relay(ticket.resolution_summary or '')}\n"
            "Did this solve your problem?"
        ),
        buttons=(
            Button(label="Yes, solved", command=f"/ticket close {n}", style=ButtonStyle.PRIMARY),
            Button(label="No, reopen", command=f"/ticket reopen {n}", style=ButtonStyle.DANGER),
        ),
    )


def reopened(ticket: Ticket, by_customer: bool) -> Message:
    who = "you" if by_customer else "our team"
    return Message(text=f"{ticket.ref} was reopened by {who}. An agent will pick it up in this thread.")


def escalated_for_customer(ticket: Ticket) -> Message:
    return Message(text=f"{ticket.ref} has been escalated to our senior team (priority: {ticket.priority.value}).")


def escalation_alert(ticket: Ticket, agent: UserRef, reason: str) -> Message:
    why = f" — {relay(reason)}" if reason else ""
    return Message(
        text=(
            f"⚠ {ticket.ref} escalated by {agent.display}{why}\n"
            f"{relay(ticket.subject)} · {ticket.customer.display} · priority {ticket.priority.value}"
        ),
        buttons=(Button(label="Show", command=f"/ticket show {ticket.number}"),),
    )


def customer_wrote(ticket: Ticket, author: UserRef, body: str) -> Message:
    return Message(text=f"{author.display} wrote on {ticket.ref}: {relay(body)}")


def internal_note(author: UserRef, body: str) -> Message:
    return Message(text=f"📝 Internal note from {author.display}: {relay(body)}")


def card_event(ticket: Ticket, text: str) -> Message:
    return Message(text=f"{ticket.ref}: {text}")


def closed_thread(ticket: Ticket) -> Message:
    return Message(
        text=f"{ticket.ref} is closed, so we've noted your message on it. "
        "To get help again, reopen it or start a new message.",
        buttons=(Button(label="Reopen", command=f"/ticket reopen {ticket.number}"),),
    )


def limit_reached(open_numbers: Sequence[int], limit: int) -> Message:
    refs = ", ".join(f"#{n}" for n in open_numbers)
    return Message(
        text=f"You already have {limit} open tickets ({refs}). Please add to one of those threads, "
        "or close one that is solved, and we'll help you there."
    )
