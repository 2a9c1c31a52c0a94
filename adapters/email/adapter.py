"""The running e-mail channel: the SMTP listener (and IMAP polling, with `imap_url`) in, the relay out, next
to the delivery worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from adapters.email.config import EmailConfig
from adapters.email.imap import ImapPoller, ImapSetupError, credentials
from adapters.email.inbound import InboundMail
from adapters.email.parse import parse
from adapters.email.platform import EmailPlatform, SmtpRelay
from adapters.email.server import start
from adapters.registry import AdapterStartupError
from bot.ports import ChatPlatform, GroupMembers, PeopleNames, RoleSource
from bot.services.desk import Desk

log = logging.getLogger(__name__)


class EmailAdapter:
    def __init__(self, config: EmailConfig, relay: SmtpRelay | None = None, poller: ImapPoller | None = None) -> None:
        self.config = config
        self.poller = poller  # made at `serve` from `imap_url` unless given (tests give their own TLS context)
        self.email = EmailPlatform(config, relay or SmtpRelay(config))
        self.platform: ChatPlatform = self.email
        self.role_sources: Sequence[RoleSource] = ()
        self.member_sources: Sequence[GroupMembers] = ()
        self.name_sources: Sequence[PeopleNames] = ()  # a mail names its sender
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
        if self.poller is not None:
            self.poller.stop()

    async def serve(self, desk: Desk) -> None:
        self.email.lookup = desk.ticket_at
        inbound = InboundMail(self.config, desk, self.email)

        async def deliver(raw: bytes) -> str:
            outcome = await inbound.handle(parse(raw))
            return outcome.code

        if self.poller is None and self.config.imap_url:
            try:
                self.poller = ImapPoller(self.config, deliver, credentials(self.config))
            except ImapSetupError as exc:
                raise AdapterStartupError(str(exc)) from None
        elif self.poller is not None:
            self.poller.deliver = deliver

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
        polling = asyncio.create_task(self.poller.run(), name="imap") if self.poller is not None else None
        self.ready.set()
        try:
            if polling is not None:
                await polling  # returns once `stop_intake` stopped it; the listener is closed by then
            await asyncio.Event().wait()
        finally:
            if polling is not None:
                polling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await polling
            self._server.close()
            await self._server.wait_closed()
