"""IMAP polling (`[email] imap_url`) against a small RFC 3501 server on 127.0.0.1 (tests/fakes/imap_server.py):
new mail in the folder becomes tickets through the same inbound path as SMTP mail, is marked `\\Seen` only
after it was handled (a crash in between re-reads it, and intake ignores the repeat by Message-ID), and the
credentials come from the environment and never reach a log line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.email.adapter import EmailAdapter
from adapters.email.config import EmailConfig
from adapters.email.imap import ImapPoller, credentials
from adapters.registry import AdapterStartupError
from bot.bootstrap import build_desk
from bot.config import PlatformChannels, settings_from_dict
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.records import TicketQuery
from bot.services.desk import Desk
from tests.conftest import BASE_CONFIG, BOB
from tests.fakes.clock import FakeClock
from tests.fakes.imap_server import FakeImapServer
from tests.fakes.patience import until
from tests.fakes.platform import RecordingPlatform
from tests.fakes.smtp_relay import RecordingRelay

SUPPORT = "support@example.com"
ALICE = "alice@example.org"
USER, PASSWORD = "support@example.com", "s3cret-imap-Pa55"
ENV = {"TD_IMAP_USER": USER, "TD_IMAP_PASSWORD": PASSWORD}


def mail(subject: str, body: str, *, in_reply_to: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = f"Alice Example <{ALICE}>"
    m["To"] = SUPPORT
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="example.org")
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    m.set_content(body)
    return m.as_bytes()


class Rig:
    def __init__(
        self, desk: Desk, worker: DeliveryWorker, adapter: EmailAdapter, relay: RecordingRelay, db: Store
    ) -> None:
        self.desk, self.worker, self.adapter, self.relay, self.db = desk, worker, adapter, relay, db

    @property
    def poller(self) -> ImapPoller:
        assert self.adapter.poller is not None
        return self.adapter.poller

    async def subjects(self) -> list[str]:
        async with self.db.reading() as uow:
            return [t.subject for t in await uow.tickets.list_tickets(TicketQuery(limit=100))]

    async def bodies(self, number: int) -> list[str]:
        async with self.db.reading() as uow:
            return [m.body for m in await uow.messages.messages_for(number) if m.author_role == "customer"]


def email_config(imap: FakeImapServer, relay: RecordingRelay, **overrides: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": 0,
        "recipients": [SUPPORT],
        "agents_platform": "test",
        "smtp_url": f"smtp://127.0.0.1:{relay.port}",
        "imap_url": f"imap://127.0.0.1:{imap.port}",
        "imap_username_env": "TD_IMAP_USER",
        "imap_password_env": "TD_IMAP_PASSWORD",
        "imap_interval": 3600,  # the tests poll by hand, except where they say otherwise
        "max_message_bytes": 20_000,
        **overrides,
    }


@pytest.fixture
async def imap() -> AsyncIterator[FakeImapServer]:
    server = await FakeImapServer(USER, PASSWORD).start()
    yield server
    await server.stop()


@contextlib.asynccontextmanager
async def running(
    db: Store, clock: FakeClock, platform: RecordingPlatform, imap: FakeImapServer, **overrides: Any
) -> AsyncIterator[Rig]:
    relay = await RecordingRelay().start()
    raw: dict[str, Any] = {**BASE_CONFIG, "kb": {"suggestions": 0}, "email": email_config(imap, relay, **overrides)}
    settings = settings_from_dict(raw, {"test": PlatformChannels, "email": EmailConfig})
    config = settings.adapters["email"]
    assert isinstance(config, EmailConfig)
    desk = build_desk(settings, db, clock=clock)
    adapter = EmailAdapter(config)
    worker = DeliveryWorker(db, {platform.name: platform, "email": adapter.platform}, clock)
    serving = asyncio.create_task(adapter.serve(desk))
    ready = asyncio.create_task(adapter.ready.wait())
    await asyncio.wait((serving, ready), return_when=asyncio.FIRST_COMPLETED)
    if serving.done():  # it could not start (e.g. a credential is missing): say why
        ready.cancel()
        await relay.stop()
        serving.result()
    try:
        yield Rig(desk, worker, adapter, relay, db)
    finally:
        await adapter.stop_intake()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await relay.stop()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


async def test_polled_mail_opens_a_ticket_replies_join_it_and_each_is_marked_seen_after_handling(
    db: Store, clock: FakeClock, platform: RecordingPlatform, imap: FakeImapServer, env: None
) -> None:
    first = mail("Cannot export my invoices", "The export button does nothing since Monday.")
    imap.add(first)
    async with running(db, clock, platform, imap, imap_interval=1) as rig:
        await until(lambda: imap.seen() == [1], "the first mail to be handled and marked seen")
        assert await rig.subjects() == ["Cannot export my invoices"]
        # fetched without setting \Seen, marked only afterwards
        fetch = next(i for i, c in enumerate(imap.commands) if "UID FETCH 1" in c)
        store = next(i for i, c in enumerate(imap.commands) if "UID STORE 1 +FLAGS" in c)
        assert "BODY.PEEK[]" in imap.commands[fetch] and fetch < store
        # an agent answers by e-mail; the customer's reply lands in the mailbox and joins the same ticket
        assert (await rig.desk.run(BOB, "/ticket reply 1 Please try again now.")).ok
        await rig.worker.drain()
        ours = next(m for m in rig.relay.mails if "Please try again now." in m.get_content())
        imap.add(mail(f"Re: {ours['Subject']}", "Works now, thanks!", in_reply_to=ours["Message-ID"]))
        await until(lambda: imap.seen() == [1, 2], "the reply to be handled and marked seen")
        assert await rig.subjects() == ["Cannot export my invoices"]
        assert "Works now, thanks!" in "\n".join(await rig.bodies(1))


async def test_a_crash_before_marking_seen_rereads_the_mail_without_a_second_ticket(
    db: Store, clock: FakeClock, platform: RecordingPlatform, imap: FakeImapServer, env: None
) -> None:
    imap.add(mail("Login broken", "I cannot log in."))
    async with running(db, clock, platform, imap) as rig:
        await until(lambda: rig.poller.polls >= 1, "the first poll")
        assert imap.seen() == [1]
        imap.add(mail("Billing question", "Why was I charged twice?"))
        imap.drop_on_store = True  # handled, then the connection dies before \Seen is stored
        with pytest.raises(Exception):  # noqa: B017 - imaplib's abort, an OSError or EOF: any is a crash
            await rig.poller.poll()
        assert imap.seen() == [1]  # still unseen: the next poll reads it again
        assert sorted(await rig.subjects()) == ["Billing question", "Login broken"]  # it was handled
        assert await rig.poller.poll() == 1
        assert imap.seen() == [1, 2]
        assert sorted(await rig.subjects()) == ["Billing question", "Login broken"]  # no second ticket
        assert sum("charged twice" in body for body in await rig.bodies(2)) == 1  # and logged once


async def test_a_mail_that_fails_to_be_handled_stays_unseen(
    db: Store, clock: FakeClock, platform: RecordingPlatform, imap: FakeImapServer, env: None
) -> None:
    async with running(db, clock, platform, imap) as rig:
        await until(lambda: rig.poller.polls >= 1, "the first (empty) poll")
        imap.add(mail("Password reset link expired", "The reset link says it expired."))
        handle = rig.poller.deliver

        async def broken(raw: bytes) -> str:
            raise RuntimeError("the database is locked")

        rig.poller.deliver = broken
        assert await rig.poller.poll() == 0
        assert imap.seen() == []
        rig.poller.deliver = handle
        assert await rig.poller.poll() == 1
        assert imap.seen() == [1] and await rig.subjects() == ["Password reset link expired"]


async def test_credentials_come_from_the_environment_and_are_never_logged(
    db: Store,
    clock: FakeClock,
    platform: RecordingPlatform,
    imap: FakeImapServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TD_IMAP_USER", USER)
    with pytest.raises(AdapterStartupError, match="TD_IMAP_PASSWORD"):
        async with running(db, clock, platform, imap):
            pass
    monkeypatch.setenv("TD_IMAP_PASSWORD", "wrong-" + PASSWORD)
    imap.add(mail("Hi", "Hello"))
    async with running(db, clock, platform, imap, imap_interval=1) as rig:
        await until(lambda: "polling 127.0.0.1" in caplog.text and "failed" in caplog.text, "a failed poll logged")
        assert rig.poller.polls == 0 and imap.seen() == []
    assert "AUTHENTICATIONFAILED" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(credentials(EmailConfig(**_cfg()), ENV))


def _cfg(**overrides: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "recipients": [SUPPORT],
        "imap_url": "imaps://imap.example.com",
        "imap_username_env": "TD_IMAP_USER",
        "imap_password_env": "TD_IMAP_PASSWORD",
        **overrides,
    }


def test_imap_config_is_checked() -> None:
    config = EmailConfig(**_cfg())
    assert config.imap_server == (True, "imap.example.com", 993) and config.imap_folder == "INBOX"
    assert EmailConfig(**_cfg(imap_url="imap://mail.example.com")).imap_use_starttls
    assert not EmailConfig(**_cfg(imap_url="imap://127.0.0.1:1143")).imap_use_starttls
    with pytest.raises(ValidationError, match="credentials do not go in the URL"):
        EmailConfig(**_cfg(imap_url="imaps://me:pw@imap.example.com"))
    with pytest.raises(ValidationError, match="imaps://host:993"):
        EmailConfig(**_cfg(imap_url="pop3://imap.example.com"))
    with pytest.raises(ValidationError, match="imap_username_env and imap_password_env"):
        EmailConfig(enabled=True, recipients=(SUPPORT,), imap_url="imaps://imap.example.com")
