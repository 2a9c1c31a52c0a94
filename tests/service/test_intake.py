"""Intake: where tickets come from, idempotency, rules, and text that must never ping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from bot.delivery import DeliveryWorker
from bot.domain.inbound import IncomingMessage, Place
from bot.domain.text import ZWSP
from bot.domain.ticket import Priority, Status
from bot.ports import Store, UnitOfWork
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, CAROL, dm
from tests.fakes.platform import RecordingPlatform

T = TypeVar("T")


async def test_duplicate_delivery_creates_one_ticket(desk: Desk, worker: DeliveryWorker, platform) -> None:  # type: ignore[no-untyped-def]
    message = dm(ALICE, "Refund please", message_id="same-id")
    first = await desk.receive(message)
    again = await desk.receive(message)
    assert first is not None and again is None
    await worker.drain()
    assert len(platform.in_thread("dm-alice", "same-id")) == 1
    assert len(platform.in_channel("queue")) == 1


async def test_intake_places(desk: Desk, db) -> None:  # type: ignore[no-untyped-def]
    def msg(channel: str, text: str, **kw: object) -> IncomingMessage:
        return IncomingMessage(
            platform="test", message_id=f"{channel}-{text}", author=CAROL, channel=channel, text=text, **kw
        )  # type: ignore[arg-type]

    assert await desk.receive(msg("support", "top-level in the intake channel")) is not None
    assert await desk.receive(msg("random", "chatter elsewhere")) is None
    assert await desk.receive(msg("random", "hey @ThreadDesk help", mentions_bot=True)) is not None
    assert await desk.receive(msg("random", "a thread that is no ticket's", thread="xyz")) is None
    assert await desk.receive(msg("support", "   ")) is None


async def test_rules_set_priority_and_category(desk: Desk) -> None:
    ticket = await desk.receive(dm(ALICE, "The whole app is down for our team"))
    assert ticket is not None
    assert (ticket.priority, ticket.category) == (Priority.URGENT, "incident")


async def test_customer_reply_reopens_pending_and_resolved(desk: Desk, db) -> None:  # type: ignore[no-untyped-def]
    await desk.receive(dm(ALICE, "Import from Trello fails", message_id="root"))
    await desk.run(BOB, "/ticket status 1 pending")
    await desk.receive(dm(ALICE, "Here is the file", thread="root"))
    assert (await desk.ticket(1)).status is Status.OPEN  # type: ignore[union-attr]
    await desk.run(BOB, "/ticket resolve 1 Re-imported it for you")
    await desk.receive(dm(ALICE, "Half the cards are missing", thread="root"))
    assert (await desk.ticket(1)).status is Status.OPEN  # type: ignore[union-attr]
    async with db.reading() as uow:
        log = await uow.messages.messages_for(1)
    assert [m.body for m in log if m.author_role == "customer"] == [
        "Import from Trello fails",
        "Here is the file",
        "Half the cards are missing",
    ]


async def test_message_on_closed_ticket_is_kept_and_answered(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await desk.receive(dm(ALICE, "Question about seats", message_id="root"))
    await desk.run(BOB, "/ticket close 1")
    await desk.receive(dm(ALICE, "One more thing", thread="root"))
    await worker.drain()
    last = platform.in_thread("dm-alice", "root")[-1]
    assert last.text.startswith("#1 is closed, so we've noted your message on it.")
    assert [b.command for b in last.message.buttons] == ["/ticket reopen 1"]


async def test_agent_in_card_thread_is_internal_and_in_customer_thread_is_public(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db
) -> None:  # type: ignore[no-untyped-def]
    await desk.receive(dm(ALICE, "Notifications stopped", message_id="root"))
    await worker.drain()
    [card] = platform.in_channel("queue")
    await desk.receive(
        IncomingMessage(
            platform="test",
            message_id="c1",
            author=BOB,
            channel="queue",
            thread=card.id,
            text="anyone seen this?",
        )
    )
    await desk.receive(
        IncomingMessage(
            platform="test",
            message_id="c2",
            author=BOB,
            channel="dm-alice",
            thread="root",
            text="Looking now",
        )
    )
    async with db.reading() as uow:
        log = await uow.messages.messages_for(1)
    assert [(m.body, m.visibility, m.author_role) for m in log[-2:]] == [
        ("anyone seen this?", "internal", "agent"),
        ("Looking now", "public", "agent"),
    ]
    ticket = await desk.ticket(1)
    assert ticket is not None and ticket.first_response_at is not None and ticket.status is Status.OPEN


async def test_relayed_text_never_pings(desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform) -> None:
    await desk.receive(dm(ALICE, "@channel <!everyone> <@U999> why is billing broken", message_id="root"))
    await desk.run(BOB, "/ticket reply 1 @everyone <!here> we are on it")
    await worker.drain()
    [card] = platform.in_channel("queue")
    assert card.current.title == f"#1 · @{ZWSP}channel @{ZWSP}everyone @{ZWSP}U999 why is billing broken"
    await desk.receive(dm(ALICE, "<!here> still broken @here", thread="root"))
    await worker.drain()
    assert platform.texts("dm-alice", "root")[-1] == f"Bob: @{ZWSP}everyone @{ZWSP}here we are on it"
    assert platform.texts("queue", card.id)[-1] == f"Alice wrote on #1: @{ZWSP}here still broken @{ZWSP}here"
    for post in platform.sent:
        for text in [post.text, post.current.title or ""]:
            assert "@channel" not in text and "@everyone" not in text and "@here" not in text
            assert "<!" not in text and "<@" not in text


async def test_huge_and_odd_unicode_messages(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db
) -> None:  # type: ignore[no-untyped-def]
    huge = "🔥 export broken " + "ä" * 100_000
    ticket = await desk.receive(dm(ALICE, huge, message_id="big"))
    assert ticket is not None and len(ticket.subject) == 120
    weird = await desk.receive(dm(ALICE, "\u202e\u0000 مرحبا \u200b\u200d 👩‍💻 zalgo ̸̢̛", message_id="odd"))
    assert weird is not None
    await worker.drain()
    async with db.reading() as uow:
        [stored] = [m for m in await uow.messages.messages_for(1)][:1]
    assert stored.body.endswith("(cut at 40,000 characters)")
    assert all(len(post.text) < 6000 for post in platform.sent)


async def test_slash_new_starts_its_thread_with_the_first_post(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    reply = await desk.run(
        CAROL, "/ticket new Please add a seat to our plan", Place(platform="test", channel="dm-carol")
    )
    assert reply.text == "Opened #1: Please add a seat to our plan"
    await desk.run(BOB, "/ticket reply 1 Done!")
    await worker.drain()
    [ack] = platform.in_channel("dm-carol")
    assert ack.text.startswith("Thanks, Carol — we've opened ticket #1")
    assert platform.texts("dm-carol", ack.id) == ["Done!".join(["Bob: ", ""])]
    ticket = await desk.ticket(1)
    assert ticket is not None and ticket.origin.thread == ack.id


async def test_ticket_new_inside_a_tickets_thread_opens_a_new_thread(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await desk.receive(dm(ALICE, "My invoice shows the wrong VAT number", message_id="a1"))
    inside = Place(platform="test", channel="dm-alice", thread="a1")
    reply = await desk.run(ALICE, "/ticket new The mobile app logs me out every hour", inside)
    assert reply.text == "Opened #2: The mobile app logs me out every hour"
    await worker.drain()
    [ack] = [p for p in platform.in_channel("dm-alice") if "ticket #2" in p.message.text]
    assert ack.thread is None  # its acknowledgement starts the new ticket's own thread
    assert [p.message.text for p in platform.in_thread("dm-alice", "a1") if "#2" in p.message.text] == []


async def test_what_the_text_decides_is_worked_out_before_the_unit_of_work(
    desk: Desk, db: Store, worker: DeliveryWorker, platform: RecordingPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KB and macro suggestions run before the ticket's unit of work opens (on SQLite a unit holds the one
    writer's turn, on PostgreSQL a transaction and row locks); what the customer reads is unchanged."""
    units = 0
    transaction = db.transaction

    @asynccontextmanager
    async def counted() -> AsyncIterator[UnitOfWork]:
        nonlocal units
        async with transaction() as uow:
            units += 1
            try:
                yield uow
            finally:
                units -= 1

    asked: list[int] = []

    def watched(suggest: Callable[..., T]) -> Callable[..., T]:
        def call(*args: Any) -> T:
            asked.append(units)
            return suggest(*args)

        return call

    monkeypatch.setattr(db, "transaction", counted)
    monkeypatch.setattr(desk.ctx.kb, "suggest", watched(desk.ctx.kb.suggest))
    monkeypatch.setattr(desk.ctx.macros, "suggest", watched(desk.ctx.macros.suggest))
    await desk.receive(dm(ALICE, "how do I get a refund for the annual plan", message_id="a1"))
    await desk.receive(dm(ALICE, "Here is my order number", thread="a1"))  # joins: nothing to suggest
    assert asked == [0, 0]
    await worker.drain()
    [ack] = platform.in_thread("dm-alice", "a1")
    assert ack.message.text == (
        "Thanks, Alice — we've opened ticket #1 (priority: normal). An agent will reply in this thread; add "
        "anything else here too.\nWhile you wait, these articles may help:\n• Ask for a refund — Refunds go back "
        "to the card or account you paid with and show up within 5–10 business days.\n• Upgrade, downgrade or "
        "change the number of seats — Owners and billing admins change the plan in Settings → Billing → Plan."
    )
    assert [(b.label, b.command) for b in ack.message.buttons] == [
        ("This solved it: Ask for a refund", "/kb accept 1 refund-request"),
        ("This solved it: Upgrade, downgrade or change the number of seats", "/kb accept 1 change-plan"),
        ("Not what I need", "/kb reject 1"),
    ]
