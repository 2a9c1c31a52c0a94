"""The e-mail platform: posts to a customer become e-mails through the SMTP relay.

A post's "channel" is the customer's address and its "thread" the Message-ID of the mail that opened the
ticket, so replies carry `In-Reply-To`/`References` to it and `[#42]` in the subject, and the customer's
mail client keeps one conversation. Our Message-IDs are derived from the outbox nonce, so a retry after a
crash sends the same Message-ID (receivers deduplicate), and they name the ticket (`….t42@domain`), which
is how a reply finds its ticket again.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from adapters.email.config import EmailConfig
from adapters.email.parse import format_address
from adapters.email.render import body
from bot.domain.refs import MessageRef, ThreadRef
from bot.domain.ticket import Ticket
from bot.outbound import Message
from bot.ports import DeliveryRefused, PostLookup, RetryLater

log = logging.getLogger(__name__)

PLATFORM = "email"
TicketLookup = Callable[[ThreadRef], Awaitable[Ticket | None]]


def our_ticket(message_id: str, domain: str) -> int | None:
    """The ticket a Message-ID we generated belongs to (`<td-12-0.t42@example.com>` → 42)."""
    found = re.fullmatch(rf"<[^<>@]*\.t(\d+)@{re.escape(domain)}>", message_id.strip(), re.IGNORECASE)
    return int(found.group(1)) if found else None


def subject_for(ticket: Ticket | None, fallback: str) -> str:
    if ticket is None:
        return fallback
    subject = re.sub(r"^\s*((re|aw|sv|fwd?)\s*:\s*)+", "", ticket.subject, flags=re.IGNORECASE)
    subject = re.sub(r"\[#\d+\]\s*", "", subject).strip() or "your request"
    return f"[#{ticket.number}] Re: {subject}"


class SmtpRelay:
    """Sends through `[email] smtp_url`: implicit TLS (smtps) or STARTTLS, credentials from the environment."""

    def __init__(self, config: EmailConfig, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.ssl_context = ssl_context or ssl.create_default_context()

    def credentials(self) -> tuple[str, str] | None:
        c = self.config
        if not c.username_env and not c.password_env:
            return None
        user = os.environ.get(c.username_env or "", "")
        password = os.environ.get(c.password_env or "", "")
        if not user or not password:
            missing = c.username_env if not user else c.password_env
            raise DeliveryRefused(f"[email] the environment variable {missing} is not set (the relay's credentials)")
        return user, password

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send, message, self.credentials())

    def _send(self, message: EmailMessage, login: tuple[str, str] | None) -> None:
        tls, host, port = self.config.relay
        timeout = self.config.timeout
        local = self.config.domain  # our HELO name (asking the system for its FQDN can take seconds)
        try:
            smtp: smtplib.SMTP = (
                smtplib.SMTP_SSL(host, port, local, timeout=timeout, context=self.ssl_context)
                if tls
                else smtplib.SMTP(host, port, local, timeout=timeout)
            )
            with smtp:
                smtp.ehlo()
                if self.config.use_starttls:
                    smtp.starttls(context=self.ssl_context)
                    smtp.ehlo()
                if login is not None:
                    smtp.login(*login)
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise DeliveryRefused(
                f"the relay {host}:{port} refused our login — check {self.config.username_env} and "
                f"{self.config.password_env}"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            raise _by_code(code, reason, host) from None
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error, host) from None
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connections, timeouts, TLS
            raise RetryLater(f"relay {host}:{port}: {type(exc).__name__}: {exc}") from None


def _by_code(code: int, reason: bytes | str, host: str) -> Exception:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
    if 400 <= code < 500:
        return RetryLater(f"relay {host} said {code} {text} (temporary)")
    return DeliveryRefused(f"relay {host} refused the mail: {code} {text}")


class EmailPlatform:
    name = PLATFORM

    def __init__(self, config: EmailConfig, relay: SmtpRelay) -> None:
        self.config = config
        self.relay = relay
        self.lookup: TicketLookup | None = None  # set when the adapter starts serving the desk

    def compose(
        self,
        to: str,
        message: Message,
        *,
        ticket: Ticket | None,
        thread: str | None,
        nonce: str | None,
        subject: str | None = None,
    ) -> EmailMessage:
        c = self.config
        mail = EmailMessage()
        mail["From"] = format_address(c.display_name, c.from_address)
        name = ticket.customer.name if ticket is not None and ticket.customer.id == to else ""
        mail["To"] = format_address(name, to)
        mail["Reply-To"] = c.from_address
        mail["Subject"] = subject or subject_for(ticket, f"Your message to {c.display_name}")
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        local = nonce or f"td-{uuid.uuid4().hex[:12]}"
        mail["Message-ID"] = f"<{local}.t{ticket.number if ticket else 0}@{c.domain}>"
        if thread:
            mail["In-Reply-To"] = thread
            mail["References"] = thread
        # our mail must never start a loop with an autoresponder (RFC 3834)
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(body(message, ticket.number if ticket else None))
        if message.attachment:
            path = Path(message.attachment)
            if path.is_file():
                ctype, _ = mimetypes.guess_type(path.name)
                maintype, _, subtype = (ctype or "application/octet-stream").partition("/")
                mail.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
        return mail

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        """Receivers drop a second mail with the same Message-ID, which each post's nonce determines."""
        return None

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        ticket = None
        if thread and self.lookup is not None:
            ticket = await self.lookup(ThreadRef(platform=PLATFORM, channel=channel, thread=thread))
        mail = self.compose(channel, message, ticket=ticket, thread=thread, nonce=nonce)
        await self.relay.send(mail)
        return MessageRef(platform=PLATFORM, channel=channel, id=str(mail["Message-ID"]))

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        raise DeliveryRefused("a sent e-mail cannot be edited")
