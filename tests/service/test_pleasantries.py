"""“thanks!”, “ok”, “hello?” in a DM: a kind answer and no ticket; after a resolution, noted without a reopen."""

from __future__ import annotations

from bot.delivery import DeliveryWorker
from bot.domain.ticket import Status
from bot.ports import Store
from bot.records import TicketQuery
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, CAROL, dm
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform


async def count_tickets(db: Store) -> int:
    async with db.reading() as uow:
        return len(await uow.tickets.list_tickets(TicketQuery()))


async def test_pleasantries_with_no_ticket_get_a_kind_answer_and_open_nothing(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db: Store
) -> None:
    for text, message_id in (("thanks!", "t1"), ("ok", "t2"), ("hello?", "t3")):
        assert await desk.receive(dm(CAROL, text, message_id=message_id)) is None
    assert await desk.receive(dm(CAROL, "hello?", message_id="t3")) is None  # a re-delivery: answered once
    await worker.drain()
    assert await count_tickets(db) == 0
    assert platform.in_channel("queue") == []
    assert platform.texts("dm-carol", "t1") == [
        "You're welcome, Carol! If you need anything, just write here and we'll open a ticket."
    ]
    assert platform.texts("dm-carol", "t2") == [
        "👍 If you need help with something, describe it in a message and we'll open a ticket for it."
    ]
    assert platform.texts("dm-carol", "t3") == [
        "Hi Carol! 👋 How can we help? Describe the problem in a message and we'll open a ticket for it."
    ]


async def test_a_request_that_starts_with_a_greeting_still_opens_a_ticket(desk: Desk) -> None:
    ticket = await desk.receive(dm(CAROL, "hi, my card was charged twice", message_id="r1"))
    assert ticket is not None and ticket.subject == "hi, my card was charged twice"
    assert await desk.receive(dm(CAROL, "thanks, but it still doesn't work", message_id="r2")) is not None


async def test_thanks_after_a_resolution_is_noted_on_the_ticket_without_reopening_it(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, clock: FakeClock
) -> None:
    await desk.receive(dm(ALICE, "The invoice PDF is blank", message_id="root"))
    await desk.run(BOB, "/ticket resolve 1 Regenerated the PDF.")
    clock.advance(hours=2)
    assert await desk.receive(dm(ALICE, "thanks!", message_id="later")) is None  # a new DM, not in the thread
    await worker.drain()
    ticket = await desk.ticket(1)
    assert ticket is not None and ticket.status is Status.RESOLVED
    assert platform.texts("dm-alice", "later") == [
        "You're welcome, Alice! #1 stays resolved. If anything else comes up, just write."
    ]
    [card] = platform.in_channel("queue")
    assert platform.texts("queue", card.id)[-1] == "Alice wrote on #1: thanks!"
    shown = (await desk.run(BOB, "/ticket show 1")).text
    assert "Alice thanked us (no reopen: it stays resolved)" in shown
    assert "Alice: thanks!" in shown

    # in the ticket's own thread too; anything else there still reopens it
    assert await desk.receive(dm(ALICE, "Thank you so much 🙏", thread="root")) is not None
    await worker.drain()
    assert (await desk.ticket(1)).status is Status.RESOLVED  # type: ignore[union-attr]
    assert platform.texts("dm-alice", "root")[-1] == (
        "You're welcome, Alice! #1 stays resolved. If anything else comes up, just write."
    )
    await desk.receive(dm(ALICE, "Actually page 2 is still blank", thread="root"))
    assert (await desk.ticket(1)).status is Status.OPEN  # type: ignore[union-attr]


async def test_long_after_a_resolution_thanks_is_only_answered(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, clock: FakeClock, db: Store
) -> None:
    await desk.receive(dm(ALICE, "The invoice PDF is blank", message_id="root"))
    await desk.run(BOB, "/ticket resolve 1 Regenerated the PDF.")
    clock.advance(days=8)
    await desk.receive(dm(ALICE, "thanks", message_id="much-later"))
    await worker.drain()
    assert platform.texts("dm-alice", "much-later")[0].startswith("You're welcome, Alice! If you need anything")
    async with db.reading() as uow:
        assert [m.body for m in await uow.messages.messages_for(1) if m.author_role == "customer"] == [
            "The invoice PDF is blank"
        ]


async def test_hello_while_a_ticket_is_open_joins_that_ticket(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db: Store
) -> None:
    await desk.receive(dm(ALICE, "Exports time out", message_id="root"))
    assert await desk.receive(dm(ALICE, "hello? anyone there?", message_id="nudge")) is None
    await worker.drain()
    assert await count_tickets(db) == 1
    assert platform.texts("dm-alice", "nudge") == [
        "Hi, Alice — we've added this to #1 (new); an agent will answer in its thread."
    ]
    [card] = platform.in_channel("queue")
    assert platform.texts("queue", card.id)[-1] == "Alice wrote on #1: hello? anyone there?"
