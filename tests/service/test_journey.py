"""The whole life of a ticket through the core, asserting what each person reads."""

from __future__ import annotations

from bot.delivery import DeliveryWorker
from bot.domain.inbound import Place
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, dm
from tests.fakes.platform import RecordingPlatform


async def test_customer_agent_journey(desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform) -> None:
    opening = dm(ALICE, "I can't log in to my account since this morning", message_id="m-open")
    ticket = await desk.receive(opening)
    assert ticket is not None and ticket.number == 1
    await worker.drain()

    # the customer's thread: acknowledgement with number, priority and KB suggestions
    [ack] = platform.in_thread("dm-alice", "m-open")
    assert "ticket #1" in ack.text and "priority: normal" in ack.text
    assert "these articles may help" in ack.text
    assert 1 <= ack.text.count("\n• ") <= 3
    # the agents' queue: one card
    [card] = platform.in_channel("queue")
    assert card.current.title == "#1 · I can't log in to my account since this morning"
    assert {f.name: f.value for f in card.current.fields}["Assignee"] == "unassigned"
    assert [b.label for b in card.current.buttons] == ["Claim", "Reply", "Resolve", "Escalate"]

    reply = await desk.run(BOB, "/ticket claim 1")
    assert reply.ok and reply.text.startswith("You claimed #1")
    await worker.drain()
    assert platform.texts("dm-alice", "m-open")[-1] == "Bob is looking at this."
    fields = {f.name: f.value for f in card.current.fields}
    assert (fields["Assignee"], fields["Status"]) == ("Bob", "open")
    assert len(platform.in_channel("queue")) == 1, "the card is edited in place, never reposted"

    # a reply inside the card's thread needs no number; it reaches the customer
    card_thread = Place(platform="test", channel="queue", thread=card.id)
    assert (await desk.run(BOB, "/ticket reply Please try the reset link I just sent you.", card_thread)).ok
    assert (await desk.run(BOB, "/ticket note 1 Customer on legacy SSO, check with IT")).ok
    await worker.drain()
    customer_sees = platform.texts("dm-alice", "m-open")
    assert customer_sees[-1] == "Bob: Please try the reset link I just sent you."
    assert not any("legacy SSO" in text for text in customer_sees)
    assert any("Internal note from Bob: Customer on legacy SSO" in t for t in platform.texts("queue", card.id))

    # the customer answers in their thread: agents see it in the card thread
    await desk.receive(dm(ALICE, "That worked, thanks!", thread="m-open"))
    await worker.drain()
    assert platform.texts("queue", card.id)[-1] == "Alice wrote on #1: That worked, thanks!"

    assert (await desk.run(BOB, "/ticket resolve 1 Password reset via the emailed link.")).ok
    await worker.drain()
    resolution = platform.in_thread("dm-alice", "m-open")[-1]
    assert "#1 is resolved by Bob: Password reset via the emailed link." in resolution.text
    assert [b.label for b in resolution.message.buttons] == ["Yes, solved", "No, reopen"]

    # the customer presses "Yes, solved": the button's command, run as the customer
    yes = resolution.message.buttons[0]
    assert (await desk.run(ALICE, yes.command)).ok
    await worker.drain()
    closed, survey = platform.texts("dm-alice", "m-open")[-2:]
    assert closed == "#1 is now closed. Thanks for reaching out!"
    assert survey.startswith("How did we do on #1? Rate us from 1 (poor) to 5 (great) with the buttons.")
    assert {f.name: f.value for f in card.current.fields}["Status"] == "closed"

    shown = await desk.run(BOB, "/ticket show 1")
    history = shown.text.split("History:")[1].split("Messages:")[0]
    for expected in (
        "Alice opened it",
        "Bob assigned it to Bob",
        "Bob replied to the customer",
        "Bob added an internal note",
        "Alice wrote on it",
        "Bob resolved it (Password reset via the emailed link.)",
        "Alice changed status resolved → closed (customer confirmed)",
    ):
        assert expected in history
    assert "[internal]" in shown.text  # agents see notes in the log
    customer_view = await desk.run(ALICE, "/ticket show 1")
    assert "legacy SSO" not in customer_view.text


async def test_every_message_is_logged_with_delivery_state(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db
) -> None:
    await desk.receive(dm(ALICE, "Where can I download my invoices?", message_id="m1"))
    await desk.run(BOB, "/ticket reply 1 Billing › Invoices, top right.")
    async with db.reading() as uow:
        before = await uow.messages.messages_for(1)
    assert [(m.author_role, m.delivery) for m in before] == [
        ("customer", "received"),
        ("bot", "queued"),
        ("agent", "queued"),
    ]
    await worker.drain()
    async with db.reading() as uow:
        after = await uow.messages.messages_for(1)
    assert [m.delivery for m in after] == ["received", "delivered", "delivered"]
