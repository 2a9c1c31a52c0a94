"""The running e-mail channel: the SMTP listener in, the relay out, next to the delivery worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from adapters.email.config import EmailConfig
from adapters.email.inbound import InboundMail
from adapters.email.parse import parse
from adapters.email.platform import EmailPlatform, SmtpRelay
from adapters.email.server import start
from adapters.registry import AdapterStartupError
from bot.ports import ChatPlatform, RoleSource
from bot.services.desk import Desk

log = logging.getLogger(__name__)


class EmailAdapter:
    def __init__(self, config: EmailConfig, relay: SmtpRelay | None = None) -> None:
        self.config = config
        self.email = EmailPlatform(config, relay or SmtpRelay(config))
        self.platform: ChatPlatform = self.email
        self.role_sources: Sequence[RoleSource] = ()
        self.ready = asyncio.Event()
        self.port: int | None = None  # the bound port (the config may say 0: any free port)
        self._server: asyncio.Server | None = None

    @property
    def connected(self) -> bool:
        """Listening for mail (for /readyz)."""
        return self._server is not None and self._server.is_serving()

    async def stop_intake(self) -> None:
        """Shutting down: take no new SMTP connections; a mail already in a session is still stored before
        its `250` (or the sender is told to retry)."""
        if self._server is not None:
            self._server.close()

    async def serve(self, desk: Desk) -> None:
        self.email.lookup = desk.ticket_at
        inbound = InboundMail(self.config, desk, self.email)

        async def deliver(raw: bytes) -> str:
            outcome = await inbound.handle(parse(raw))
            return outcome.code

        try:
            self._server = await start(self.config, deliver)
        except OSError as exc:
            raise AdapterStartupError(
                f"E-mail: cannot listen on {self.config.host}:{self.config.port} ({exc.strerror}) — "
                "pick a free [email] port (25 needs root; 2525 is usual behind a forwarder)"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        log.info(
            "E-mail: accepting mail for %s on %s:%d; replies via %s",
            ", ".join(self.config.recipients),
            self.config.host,
            self.port,
            self.config.smtp_url,
        )
        self.ready.set()
        try:
            await asyncio.Event().wait()
        finally:
            self._server.close()
            await self._server.wait_closed()
