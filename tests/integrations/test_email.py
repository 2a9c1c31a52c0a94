"""E-mail as a channel, through real SMTP both ways: aiosmtpd as our listener and as the outbound relay,
the stdlib `smtplib` as the customer's mail server."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from adapters.email.adapter import EmailAdapter
from adapters.email.config import EmailConfig
from bot.bootstrap import build_desk
from bot.config import PlatformChannels, settings_from_dict
from bot.delivery import DeliveryWorker
from bot.domain.ticket import Status
from bot.ports import Store
from bot.records import TicketQuery
from bot.services.desk import Desk
from tests.conftest import BASE_CONFIG, BOB, DANA
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.fakes.smtp_relay import RecordingRelay

SUPPORT = "support@example.com"
ALICE = "alice@example.org"


class Rig:
    def __init__(
        self, desk: Desk, worker: DeliveryWorker, adapter: EmailAdapter, relay: RecordingRelay, db: Store
    ) -> None:
        self.desk, self.worker, self.adapter, self.relay, self.db = desk, worker, adapter, relay, db

    async def send(self, mail: EmailMessage, *, to: str = SUPPORT) -> str:
        """Deliver `mail` to our listener the way a mail server would; returns the server's answer."""
        port = self.adapter.port
        assert port is not None

        def deliver() -> str:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.example.org", timeout=30) as client:
                client.ehlo()
                client.mail(str(mail["From"]).split("<")[-1].rstrip(">"))
                code, _ = client.rcpt(to)
                if code != 250:
                    return f"{code} refused"
                code, answer = client.data(mail.as_bytes(policy=policy.SMTP))
                return f"{code} {answer.decode()}"

        return await asyncio.to_thread(deliver)

    async def messages(self, number: int) -> list[tuple[str, str, str]]:
        async with self.db.reading() as uow:
            return [(m.author_role, m.visibility, m.body) for m in await uow.messages.messages_for(number)]

    async def count(self) -> int:
        async with self.db.reading() as uow:
            return len(await uow.tickets.list_tickets(TicketQuery(limit=100)))


def mail(
    subject: str,
    body: str,
    *,
    sender: str = f"Alice Example <{ALICE}>",
    in_reply_to: str | None = None,
    **headers: str,
) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = SUPPORT
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="example.org")
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


@contextlib.asynccontextmanager
async def open_rig(db: Store, clock: FakeClock, platform: RecordingPlatform, **config: Any) -> AsyncIterator[Rig]:
    """The e-mail channel listening on a free port, its tickets worked from the test chat; `config` adds tables."""
    relay = await RecordingRelay().start()
    raw: dict[str, Any] = {
        **BASE_CONFIG,
        **config,
        "kb": {"suggestions": 0},
        "transcripts": {"enabled": True, "to_customer": True, "dir": str(db.path.parent / "transcripts")},
        "email": {
            "enabled": True,
            "host": "127.0.0.1",
            "port": 0,
            "recipients": [SUPPORT],
            "display_name": "Example Support",
            "agents_platform": "test",
            "smtp_url": f"smtp://127.0.0.1:{relay.port}",
            "max_message_bytes": 20_000,
        },
    }
    settings = settings_from_dict(raw, {"test": PlatformChannels, "email": EmailConfig})
    email_config = settings.adapters["email"]
    assert isinstance(email_config, EmailConfig)
    desk = build_desk(settings, db, clock=clock)
    adapter = EmailAdapter(email_config)
    worker = DeliveryWorker(db, {platform.name: platform, "email": adapter.platform}, clock)
    serving = asyncio.create_task(adapter.serve(desk))
    await adapter.ready.wait()
    try:
        yield Rig(desk, worker, adapter, relay, db)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await relay.stop()


@pytest.fixture
async def rig(db: Store, clock: FakeClock, platform: RecordingPlatform) -> AsyncIterator[Rig]:
    async with open_rig(db, clock, platform) as opened:
        yield opened


async def test_mail_in_ticket_agent_reply_mail_out_customer_reply_same_ticket(
    rig: Rig, platform: RecordingPlatform
) -> None:
    first = mail(
        "Cannot download my invoice",
        "Hi,\n\nThe download button on the billing page does nothing.\n\nThanks\nAlice\n-- \nAlice Example\nACME Corp",
        Authentication_Results="mx.example.com; spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org",
    )
    first.add_attachment(b"\x89PNG" + b"0" * 2044, maintype="image", subtype="png", filename="screenshot.png")
    assert await rig.send(first) == "250 2.0.0 OK: ticket #1"
    await rig.worker.drain()

    ticket = await rig.desk.ticket(1)
    assert ticket is not None and ticket.subject == "Cannot download my invoice"
    assert (ticket.customer.platform, ticket.customer.id, ticket.customer.name) == ("email", ALICE, "Alice Example")
    [(role, _, body)] = (await rig.messages(1))[:1]
    assert role == "customer" and body == (
        "Hi,\n\nThe download button on the billing page does nothing.\n\nThanks\nAlice\n"
        "(e-mail authentication: spf=pass, dkim=pass)\n[file] screenshot.png (2.0 KB)"
    )
    # the agents' card is on the agents' platform and says where the customer is
    [card] = platform.in_channel("queue")
    fields = {f.name: f.value for f in card.current.fields}
    assert fields["Customer"] == "Alice Example via e-mail"
    assert card.current.title == "#1 · Cannot download my invoice"

    # the acknowledgement went out by e-mail, threaded on the customer's mail
    [ack] = rig.relay.mails
    assert ack["To"] == f"Alice Example <{ALICE}>" and ack["From"] == f"Example Support <{SUPPORT}>"
    assert ack["Subject"] == "[#1] Re: Cannot download my invoice"
    assert ack["In-Reply-To"] == first["Message-ID"] and ack["References"] == first["Message-ID"]
    assert str(ack["Message-ID"]).endswith(".t1@example.com>")
    assert ack["Auto-Submitted"] == "auto-replied"
    assert "we've opened ticket #1" in rig.relay.text(ack)
    assert "Reply to this e-mail to add to ticket #1. Please keep [#1] in the subject." in rig.relay.text(ack)

    # an agent answers from the chat side, as with any ticket
    assert (await rig.desk.run(BOB, "/ticket reply 1 Fixed on our side — please try again.")).ok
    await rig.worker.drain()
    answer = rig.relay.mails[-1]
    assert rig.relay.text(answer).startswith("Bob: Fixed on our side — please try again.")
    assert answer["Subject"] == "[#1] Re: Cannot download my invoice"
    assert rig.relay.envelopes[-1] == (SUPPORT, [ALICE])

    # the customer's reply (quoting ours) joins the same ticket by its headers; the quote is cut
    reply = mail(
        "Re: [#1] Re: Cannot download my invoice",
        "It works now, thank you!\n\nOn Mon, 2 Nov 2026 at 09:05, Example Support <support@example.com> wrote:\n"
        "> Bob: Fixed on our side — please try again.",
        in_reply_to=str(answer["Message-ID"]),
    )
    assert await rig.send(reply) == "250 2.0.0 OK: ticket #1"
    await rig.worker.drain()
    assert (await rig.messages(1))[-1] == ("customer", "public", "It works now, thank you!")
    assert platform.texts("queue", card.id)[-1] == "Alice Example wrote on #1: It works now, thank you!"

    # without any header, the [#1] tag in the subject finds it too — but only for the ticket's customer
    assert await rig.send(mail("[#1] one more thing", "Also the PDF was empty.")) == "250 2.0.0 OK: ticket #1"
    stranger = mail("[#1] hijack", "Add me to this", sender="Mallory <mallory@example.net>")
    assert await rig.send(stranger) == "250 2.0.0 OK: ticket #2"
    assert await rig.count() == 2


async def test_a_mailed_ticket_is_assigned_to_a_team_member_on_the_agents_chat(
    db: Store, clock: FakeClock, platform: RecordingPlatform
) -> None:
    team = {"name": "support", "members": ["test:bob", "test:erin"], "assignment": "round_robin"}
    async with open_rig(db, clock, platform, teams=[{**team, "categories": ["general", "billing"]}]) as rig:
        first = mail("Cannot download my invoice", "The download button does nothing.")
        assert await rig.send(first) == "250 2.0.0 OK: ticket #1"
        await rig.worker.drain()
        ticket = await rig.desk.ticket(1)
        assert ticket is not None and ticket.assignee is not None
        assert (ticket.assignee.platform, ticket.assignee.id) == ("test", "bob")

        # Bob reads it in his DM on the chat, linking the card there; the customer is told by e-mail
        [card] = platform.in_channel("queue")
        assert {f.name: f.value for f in card.current.fields}["Assignee"] == "Bob"
        [note] = platform.in_channel("dm-bob")
        assert note.text == "#1 is yours, Bob (round-robin, team support): Cannot download my invoice"
        assert note.message.link is not None and note.message.link.url == f"https://chat.test/queue/{card.id}"
        told = [rig.relay.text(m) for m in rig.relay.mails]
        assert any(t.startswith("Bob is looking at this.") for t in told), told

        # the next mail goes to the next member; both are theirs in `/ticket mine` and `/team show`
        assert await rig.send(mail("Refund please", "I was charged twice.")) == "250 2.0.0 OK: ticket #2"
        await rig.worker.drain()
        assert platform.texts("dm-erin") == ["#2 is yours, Erin (round-robin, team support): Refund please"]
        assert "#1" in (await rig.desk.run(BOB, "/ticket mine")).text
        shown = (await rig.desk.run(DANA, "/team show support")).text
        assert "Bob: available · 1 open" in shown and "Erin: available · 1 open · got the last ticket" in shown


async def test_resolution_close_and_rating_by_reply(rig: Rig) -> None:
    assert (await rig.send(mail("Refund please", "I was charged twice."))).endswith("ticket #1")
    assert (await rig.desk.run(BOB, "/ticket resolve 1 Refunded the second charge.")).ok
    await rig.worker.drain()
    resolution = rig.relay.mails[-1]
    text = rig.relay.text(resolution)
    assert "#1 is resolved by Bob: Refunded the second charge." in text
    assert "/ticket close 1    (Yes, solved)" in text and "/ticket reopen 1   (No, reopen)" in text

    confirm = mail("Re: [#1] Refund please", "/ticket close 1\n\nthanks!", in_reply_to=str(resolution["Message-ID"]))
    assert await rig.send(confirm) == "250 2.0.0 OK"
    await rig.worker.drain()
    ticket = await rig.desk.ticket(1)
    assert ticket is not None and ticket.status is Status.CLOSED
    texts = [rig.relay.text(m) for m in rig.relay.mails]
    assert any(t.startswith("#1 is closed.") for t in texts), "the command's answer is mailed back"
    survey = next(t for t in texts if t.startswith("How did we do on #1?"))
    assert "reply with just a number from 1 (poor) to 5 (great)" in survey

    # the customer's copy of the transcript arrives as an attachment
    transcript = next(m for m in rig.relay.mails if rig.relay.text(m).startswith("Here is the transcript of #1"))
    [attached] = list(transcript.iter_attachments())
    assert attached.get_filename().endswith("-customer.html") and attached.get_content_type() == "text/html"
    page = attached.get_content()
    assert "Refunded the second charge." in page and "transcript (your copy)" in page

    rating = mail("Re: [#1] Refund please", "5 Quick and friendly!\n\n> How did we do on #1?")
    assert await rig.send(rating) == "250 2.0.0 OK"
    async with rig.db.reading() as uow:
        survey_row = await uow.csat.get(1)
    assert survey_row is not None and (survey_row.rating, survey_row.comment) == (5, "Quick and friendly!")
    assert rig.relay.text(rig.relay.mails[-1]).startswith("Thanks for rating #1 5/5!")


async def test_loops_and_machine_mail_never_open_tickets(rig: Rig) -> None:
    assert (await rig.send(mail("Printer on fire", "Help"))).endswith("ticket #1")
    await rig.worker.drain()
    ours = str(rig.relay.mails[-1]["Message-ID"])
    before = await rig.messages(1)
    machine = [
        mail("Automatic reply: Printer on fire", "I am away", Auto_Submitted="auto-replied", in_reply_to=ours),
        mail("Out of Office", "Back on Monday", in_reply_to=ours),
        mail("Re: [#1] Printer on fire", "away", X_Autoreply="yes"),
        mail("Weekly digest", "news", Precedence="bulk"),
        mail("Undelivered Mail Returned to Sender", "bounce", sender="MAILER-DAEMON@mx.example.org"),
        mail("[#1] Printer on fire", "our own echo", sender=f"Example Support <{SUPPORT}>"),
    ]
    for m in machine:
        assert (await rig.send(m)).startswith("250 2.0.0 OK ("), m["Subject"]
    await rig.worker.drain()
    assert await rig.count() == 1
    assert await rig.messages(1) == before
    assert len(rig.relay.mails) == 1, "nothing answered a machine"


async def test_size_limit_unknown_recipient_and_html_only(rig: Rig) -> None:
    big = mail("Logs", "x" * 30_000)
    assert (await rig.send(big)).startswith("552")
    assert await rig.send(mail("Hello", "hi"), to="sales@example.com") == "550 refused"
    html_only = EmailMessage()
    html_only["From"] = "Carol <carol@example.org>"
    html_only["To"] = SUPPORT
    html_only["Subject"] = "Broken link"
    html_only["Message-ID"] = make_msgid()
    html_only.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>The link on <b>pricing</b> is broken:</p>"
        "<ul><li>page 1</li><li>page 2</li></ul><blockquote>old quoted text</blockquote>"
        "<script>alert(1)</script></body></html>",
        subtype="html",
    )
    assert (await rig.send(html_only)).endswith("ticket #1")
    [(_, _, body)] = (await rig.messages(1))[:1]
    assert body == "The link on pricing is broken:\n\n• page 1\n• page 2\n(converted from an HTML-only e-mail)"
    assert await rig.count() == 1


async def test_relay_trouble_is_retried_then_refused(rig: Rig, clock: FakeClock) -> None:
    rig.relay.answers += ["451 4.7.1 Greylisted, try again"]
    assert (await rig.send(mail("Question", "Is there an API?"))).endswith("ticket #1")
    await rig.worker.drain()
    assert rig.relay.mails == []
    clock.advance(seconds=2)
    await rig.worker.drain()
    [ack] = rig.relay.mails
    assert ack["Subject"] == "[#1] Re: Question"
    rig.relay.answers += ["550 5.1.1 Mailbox unavailable"]
    assert (await rig.desk.run(BOB, "/ticket reply 1 Yes: see docs.")).ok
    await rig.worker.drain()
    assert (await rig.messages(1))[-1][2] == "Yes: see docs."
    async with rig.db.reading() as uow:
        logged = await uow.messages.messages_for(1)
    assert logged[-1].delivery == "failed"
