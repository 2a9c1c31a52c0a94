"""An automatic assignment reaches its agent: a ticket that came by e-mail is handed to the team's members on the
chat its card is in (the desk platform) and the assignee is DMed there; a DM the platform refuses becomes one
mention-free line in the card's thread — once, also when the delivery is tried again or the worker restarts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.bootstrap import build_desk
from bot.config import PlatformChannels, Settings, settings_from_dict
from bot.delivery import DeliveryWorker
from bot.domain.inbound import IncomingMessage
from bot.domain.refs import MessageRef, UserRef
from bot.outbound import Destination, Link, Message
from bot.ports import DeliveryRefused, RetryLater, Store
from bot.scheduler import Scheduler
from bot.services.desk import Desk
from bot.services.knowledge import KnowledgeLibrary
from tests.conftest import ALICE, BASE_CONFIG, BOB, DANA, ERIN, dm
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform

SUPPORT = {"name": "support", "members": ["test:bob", "test:erin"], "categories": ["general"]}


def settings_with(teams: list[dict[str, Any]], **config: Any) -> Settings:
    """The test chat, and e-mail whose tickets are worked from it (`agents_platform`), as in production."""
    raw = {
        **BASE_CONFIG,
        "kb": {"suggestions": 0},
        "intake": {"max_open_per_customer": 0},
        "email": {"enabled": True, "agents_platform": "test"},
        "teams": teams,
        **config,
    }
    return settings_from_dict(raw, {"test": PlatformChannels, "email": PlatformChannels})


def desk_for(settings: Settings, db: Store, clock: FakeClock) -> Desk:
    return build_desk(settings, db, kb=KnowledgeLibrary(), clock=clock)


def mailed(address: str, name: str, subject: str, body: str) -> IncomingMessage:
    """A new e-mail, as the e-mail adapter hands it to the desk."""
    return IncomingMessage(
        platform="email",
        message_id=f"<{subject.replace(' ', '.')}@example.org>",
        author=UserRef(platform="email", id=address, name=name),
        channel=address,
        text=body,
        is_direct=True,
        subject=subject,
    )


async def assignee(desk: Desk, number: int) -> str | None:
    ticket = await desk.ticket(number)
    assert ticket is not None
    return ticket.assignee.key if ticket.assignee else None


async def test_an_emailed_ticket_is_assigned_on_the_desk_platform_like_a_chat_ticket(
    db: Store, clock: FakeClock, platform: RecordingPlatform
) -> None:
    settings = settings_with([
        {**SUPPORT, "assignment": "round_robin", "max_open_per_agent": 2},
        {"name": "billing", "members": ["test:a1"], "assignment": "round_robin"},
    ])  # fmt: skip
    desk = desk_for(settings, db, clock)
    mail = RecordingPlatform(name="email")
    worker = DeliveryWorker(db, {"test": platform, "email": mail}, clock)

    await desk.receive(mailed("alice@example.org", "Alice Example", "Cannot download my invoice", "Nothing happens."))
    assert await assignee(desk, 1) == "test:bob"
    await worker.drain()
    [card] = platform.in_channel("queue")
    fields = {f.name: f.value for f in card.current.fields}
    assert (fields["Customer"], fields["Assignee"], fields["Team"]) == ("Alice Example via e-mail", "Bob", "support")
    [note] = platform.in_channel("dm-bob")  # on the chat Bob works in, linking the card there
    assert note.text == "#1 is yours, Bob (round-robin, team support): Cannot download my invoice"
    assert note.message.link == Link(label="Open the card of #1", url=f"https://chat.test/queue/{card.id}")
    assert "Bob is looking at this." in [p.text for p in mail.sent], "the customer is told by e-mail"

    # availability and the cap count as for chat tickets: Bob away, Erin takes two, then nobody can
    assert (await desk.run(BOB, "/agent away")).ok
    for n, who in ((2, "carol"), (3, "dave"), (4, "frank")):
        await desk.receive(mailed(f"{who}@example.org", who.title(), f"Question {n}", "Please help."))
    assert [await assignee(desk, n) for n in (2, 3, 4)] == ["test:erin", "test:erin", None]
    back = await desk.run(BOB, "/agent back")
    assert back.text == "Welcome back: new tickets can come to you. Assigned meanwhile: #4 → Bob."
    await worker.drain()
    assert sorted(platform.texts("dm-erin")) == [  # each about its own ticket: no order between them
        "#2 is yours, Erin (round-robin, team support): Question 2",
        "#3 is yours, Erin (round-robin, team support): Question 3",
    ]
    assert platform.texts("dm-bob")[1:] == ["#4 is yours, Bob (round-robin, team support): Question 4"]
    [told] = [p.text for p in platform.in_channel("leads") if "Nobody" in p.text]
    assert told.startswith("⚠ Nobody in team support can take new tickets: everyone is away or at 2 open tickets.")

    shown = (await desk.run(DANA, "/team show support")).text
    assert shown.splitlines()[-2:] == [
        "  Bob: full (2 open) · 2 open · got the last ticket",
        "  Erin: full (2 open) · 2 open",
    ]
    listing = (await desk.run(DANA, "/team list")).text
    assert "• support — round_robin, 2 member(s), 0 available · 4 open, 0 unassigned" in listing

    # a transfer hands it to the other team's member on the same chat; Bob, not in it, gives it up
    moved = await desk.run(BOB, "/ticket transfer 1 billing Invoices are billing's")
    assert moved.text == "#1 moved to team billing, assigned to A1."
    await worker.drain()
    assert platform.texts("dm-a1") == ["#1 is yours, A1 (round-robin, team billing): Cannot download my invoice"]
    assert "Bob unassigned Bob (moved to team billing)" in (await desk.run(DANA, "/ticket show 1")).text


async def test_an_unassigned_emailed_tickets_sla_alert_calls_the_agents_on_the_desk_platform(
    db: Store, clock: FakeClock, platform: RecordingPlatform, worker: DeliveryWorker
) -> None:
    targets = {p: {"first_response": "1h", "resolution": "1d"} for p in ("low", "normal", "high", "urgent")}
    desk = desk_for(settings_with([], sla={"targets": targets}), db, clock)
    await desk.receive(mailed("alice@example.org", "Alice Example", "Order never arrived", "Where is it?"))
    clock.advance(hours=2)
    await Scheduler(desk.ctx).tick()
    await worker.drain()
    [card] = platform.in_channel("queue")
    [breach] = [p for p in platform.in_thread("queue", card.id) if "SLA breached" in p.text]
    assert [m.key for m in breach.message.mentions] == ["test:bob", "test:erin"]
    assert breach.text.splitlines()[1] == "Order never arrived · normal · new — @Bob, @Erin"


@dataclass
class RefusesDms(RecordingPlatform):
    """A chat whose people in `refusing` accept no DMs from the bot; `hiccups` first attempts at such a DM get
    no answer (a timeout: the outcome unknown, so the next attempt looks for the post first)."""

    refusing: set[str] = field(default_factory=set)
    hiccups: int = 0
    dm_attempts: int = 0

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        if channel.removeprefix("dm-") in self.refusing:
            self.dm_attempts += 1
            if self.hiccups:
                self.hiccups -= 1
                raise RetryLater("no answer", outcome_unknown=True)
            raise DeliveryRefused(
                f"refused a direct message to {channel} (403 50007)",
                plain="they accept no direct messages from this server's members",
            )
        return await super().post_message(channel, message, thread=thread, nonce=nonce)


FALLBACK = "#1: assigned to Bob — I couldn't DM them: they accept no direct messages from this server's members."


async def test_a_refused_assignment_dm_falls_back_to_one_line_in_the_cards_thread(db: Store, clock: FakeClock) -> None:
    desk = desk_for(settings_with([{**SUPPORT, "assignment": "round_robin"}]), db, clock)
    chat = RefusesDms(refusing={"bob"}, hiccups=1)
    await desk.receive(dm(ALICE, "My export is stuck", message_id="alice-1"))
    await DeliveryWorker(db, {"test": chat}, clock).drain()
    [card] = chat.in_channel("queue")
    assert chat.dm_attempts == 1 and chat.texts("queue", card.id) == [], "no answer yet: tried again later"

    # a restart, then two attempts at the same post (a second process whose claim had lapsed): both refused
    clock.advance(seconds=5)
    async with db.transaction() as uow:
        [row] = [r for r in await uow.outbox.due(clock.now(), platforms=("test",)) if r.destination.channel == "bob"]
    assert row.sending_since is not None
    restarted = DeliveryWorker(db, {"test": chat}, clock)
    await restarted.deliver_one(row)
    await restarted.deliver_one(row)
    assert chat.dm_attempts == 3
    await restarted.drain()
    await DeliveryWorker(db, {"test": chat}, clock).drain()  # and another restart: nothing more

    [line] = chat.in_thread("queue", card.id)
    assert line.text == FALLBACK
    assert line.message.mentions == () and line.message.buttons == (), "mention-free: nobody is pinged"
    assert chat.texts("dm-bob") == []
    assert {f.name: f.value for f in card.current.fields}["Assignee"] == "Bob"
    assert chat.texts("dm-alice", "alice-1")[-1] == "Bob is looking at this."
    async with db.reading() as uow:
        assert await uow.outbox.pending_count() == 0

    # Erin accepts DMs: her note arrives, and her card's thread stays quiet
    await desk.receive(dm(ERIN, "Erin's own question", message_id="erin-1"))
    await DeliveryWorker(db, {"test": chat}, clock).drain()
    assert chat.texts("dm-erin") == ["#2 is yours, Erin (round-robin, team support): Erin's own question"]
    card2 = chat.in_channel("queue")[1]
    assert chat.texts("queue", card2.id) == []


async def test_an_outbox_row_fails_once(db: Store, clock: FakeClock) -> None:
    """The store's side of "once": only the attempt that turns a pending row failed is told it did."""
    async with db.transaction() as uow:
        await uow.outbox.enqueue(Destination.direct("test", "bob"), Message(text="hi"), at=clock.now())
    async with db.transaction() as uow:
        [row] = await uow.outbox.due(clock.now(), platforms=("test",))
        assert await uow.outbox.mark_failed(row, "refused") is True
    async with db.transaction() as uow:
        assert await uow.outbox.mark_failed(row, "refused again") is False
