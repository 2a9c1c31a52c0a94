"""The inbound SMTP listener (aiosmtpd): accepts mail for `[email] recipients`, up to the size limit.

A mail is handed to the desk before the listener answers `250`, so a mail the sender was told we have is
stored (durable before acknowledged); if handling fails, the answer is `451` and the sending server
tries again later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.email.config import EmailConfig

log = logging.getLogger(__name__)

Deliver = Callable[[bytes], Awaitable[str]]


class Handler:
    def __init__(self, config: EmailConfig, deliver: Deliver) -> None:
        self.config = config
        self.deliver = deliver

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() not in self.config.recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        try:
            return await self.deliver(raw)
        except Exception:
            log.exception("e-mail: handling a mail from %s failed; the sender will retry", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"


async def start(config: EmailConfig, deliver: Deliver) -> asyncio.Server:
    handler = Handler(config, deliver)
    loop = asyncio.get_running_loop()

    def factory() -> Any:
        return SMTP(
            handler,
            data_size_limit=config.max_message_bytes,
            hostname=config.domain,
            ident="ThreadDesk",
            loop=loop,
        )

    return await loop.create_server(factory, host=config.host, port=config.port)
