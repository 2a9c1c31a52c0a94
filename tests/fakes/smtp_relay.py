"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records what ThreadDesk sends through it."""

from __future__ import annotations

import asyncio
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class RecordingRelay:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.arrived = asyncio.Event()
        self.answers: list[str] = []  # scripted answers for the next mails (e.g. "451 try later")
        self._server: asyncio.Server | None = None
        self.port = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.answers:
            return self.answers.pop(0)
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        mail = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        self.arrived.set()
        return "250 OK"

    async def start(self) -> RecordingRelay:
        loop = asyncio.get_running_loop()

        def factory() -> Any:
            return SMTP(self, hostname="relay.test", loop=loop)

        self._server = await loop.create_server(factory, host="127.0.0.1", port=0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def text(self, mail: EmailMessage) -> str:
        part = mail.get_body(("plain",))
        assert part is not None
        return str(part.get_content())
