"""What happens to one inbound mail: refused, dropped as a loop, a command, a rating, or a ticket message.

Routing a reply to its ticket: first by headers (`In-Reply-To`/`References` naming one of our Message-IDs,
or the Message-ID of the mail that opened the ticket), then by the `[#42]` tag in the subject — and only
when the sender is that ticket's customer, so nobody can write into someone else's ticket by copying a
subject line. Machine mail (auto-replies, bounces, mail from our own address) never opens a ticket.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from adapters.email.config import EmailConfig
from adapters.email.parse import Mail
from adapters.email.platform import PLATFORM, EmailPlatform, our_ticket
from bot.domain.inbound import IncomingMessage, Place
from bot.domain.refs import ThreadRef, UserRef
from bot.domain.ticket import Status, Ticket
from bot.outbound import Message
from bot.services.desk import Desk

log = logging.getLogger(__name__)

RATING = re.compile(r"^\s*([1-5])(?:\s*/\s*5)?\b[\s.,:;!-]*(.*)$", re.DOTALL)
_AUTH_TOKENS = re.compile(r"\b(spf|dkim|dmarc|arc)=([a-z]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    """What became of a mail, for the SMTP answer and the log."""

    code: str  # the SMTP reply
    ticket: int | None = None


def authentication_line(value: str | None) -> str:
    if not value:
        return ""
    found = [f"{k.lower()}={v.lower()}" for k, v in _AUTH_TOKENS.findall(value)]
    return f"\n(e-mail authentication: {', '.join(dict.fromkeys(found)) or value[:200]})"


class InboundMail:
    def __init__(self, config: EmailConfig, desk: Desk, platform: EmailPlatform) -> None:
        self.config = config
        self.desk = desk
        self.platform = platform

    async def find_ticket(self, mail: Mail) -> Ticket | None:
        for message_id in mail.thread_ids:
            number = our_ticket(message_id, self.config.domain)
            ticket = await self.desk.ticket(number) if number else None
            if ticket is None:  # the customer answering their own first mail (e.g. to a colleague in Cc)
                ticket = await self.desk.ticket_at(ThreadRef(platform=PLATFORM, channel=mail.sender, thread=message_id))
            if ticket is not None and self._is_customer(ticket, mail):
                return ticket
        tagged = mail.tagged_ticket
        if tagged is not None:
            ticket = await self.desk.ticket(tagged)
            if ticket is not None and self._is_customer(ticket, mail):
                return ticket
        return None

    @staticmethod
    def _is_customer(ticket: Ticket, mail: Mail) -> bool:
        return ticket.customer.platform == PLATFORM and ticket.customer.id == mail.sender

    async def handle(self, mail: Mail) -> Outcome:
        ours = {self.config.from_address, *self.config.recipients}
        if mail.sender in ours:
            log.info("e-mail %s: from our own address %s; ignored", mail.message_id, mail.sender)
            return Outcome("250 2.0.0 OK (our own mail, ignored)")
        if mail.loop_reason:
            log.info("e-mail %s from %s: %s; no ticket", mail.message_id, mail.sender, mail.loop_reason)
            return Outcome("250 2.0.0 OK (automatic mail, ignored)")
        author = UserRef(platform=PLATFORM, id=mail.sender, name=mail.sender_name)
        ticket = await self.find_ticket(mail)
        text = mail.text or (mail.subject if ticket is None else "")
        if ticket is not None and text.startswith("/"):
            return await self._command(ticket, author, text.splitlines()[0])
        rating = RATING.match(text) if ticket is not None else None
        if ticket is not None and rating and ticket.status is Status.CLOSED:
            score, comment = rating.group(1), " ".join(rating.group(2).split())
            outcome = await self._command(ticket, author, f"/ticket rate {ticket.number} {score} {comment}".rstrip())
            if outcome.code.startswith("250"):
                return outcome
        body = text + authentication_line(mail.authentication)
        if mail.html_only:
            body += "\n(converted from an HTML-only e-mail)"
        incoming = IncomingMessage(
            platform=PLATFORM,
            message_id=mail.message_id,
            author=author,
            channel=ticket.origin.channel if ticket else mail.sender,
            thread=ticket.origin.thread if ticket else None,
            text=body,
            is_direct=True,
            files=tuple(a.label for a in mail.attachments),
            subject=mail.subject or None,
        )
        joined = await self.desk.receive(incoming)
        if joined is None:
            return Outcome("250 2.0.0 OK")
        return Outcome(f"250 2.0.0 OK: ticket #{joined.number}", joined.number)

    async def _command(self, ticket: Ticket, author: UserRef, line: str) -> Outcome:
        place = Place(platform=PLATFORM, channel=ticket.origin.channel, thread=ticket.origin.thread)
        reply = await self.desk.run(author, line, place)
        answer = self.platform.compose(
            author.id,
            Message(text=reply.text),
            ticket=ticket,
            thread=ticket.origin.thread,
            nonce=None,
        )
        try:
            await self.platform.relay.send(answer)
        except Exception as exc:  # the command ran; only its confirmation did not go out
            log.warning("e-mail: could not send the answer to %s's command on #%d: %s", author.id, ticket.number, exc)
        return Outcome("250 2.0.0 OK" if reply.ok else "250 2.0.0 OK (command refused; told the sender)", ticket.number)
