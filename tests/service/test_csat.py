"""Satisfaction surveys: asked once when a ticket closes, never for spam or duplicates; ratings stored."""

from __future__ import annotations

from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, CAROL, dm
from tests.fakes.platform import RecordingPlatform


def surveys(platform: RecordingPlatform, channel: str) -> list[str]:
    return [p.text for p in platform.sent if p.channel == channel and p.text.startswith("How did we do")]


async def test_asked_once_even_when_closed_twice(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db: Store
) -> None:
    await desk.receive(dm(ALICE, "My export is empty", message_id="m1"))
    assert (await desk.run(BOB, "/ticket resolve 1 Fixed the export job.")).ok
    assert (await desk.run(ALICE, "/ticket close 1")).ok
    await worker.drain()
    [survey] = [p for p in platform.in_thread("dm-alice", "m1") if p.text.startswith("How did we do")]
    labels = [b.label for b in survey.message.buttons]
    assert labels == ["Rate 1", "Rate 2", "Rate 3", "Rate 4", "Rate 5", "Rate with a comment"]
    assert survey.message.buttons[5].prompt == "Your rating (1-5), then a comment"
    assert (await desk.run(ALICE, "/ticket reopen 1 it is empty again")).ok
    assert (await desk.run(BOB, "/ticket close 1")).ok
    await worker.drain()
    assert len(surveys(platform, "dm-alice")) == 1

    pressed = await desk.run(ALICE, survey.message.buttons[4].command)
    assert pressed.ok and pressed.text.startswith("Thanks for rating #1 5/5!")
    assert (await desk.run(ALICE, "/ticket rate 1 4 Took two tries")).ok
    async with db.reading() as uow:
        stored = await uow.csat.get(1)
    assert stored is not None and (stored.rating, stored.comment) == (4, "Took two tries")


async def test_no_survey_for_spam_or_duplicates(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await desk.receive(dm(ALICE, "BUY CHEAP WATCHES", message_id="m1"))
    await desk.receive(dm(CAROL, "Can't log in", message_id="m2"))
    await desk.receive(dm(CAROL, "Can't log in (again)", message_id="m3"))
    assert (await desk.run(BOB, "/ticket close 1 spam")).ok
    assert (await desk.run(BOB, "/ticket tag 3 duplicate")).ok
    assert (await desk.run(BOB, "/ticket close 3 same as #2")).ok
    await worker.drain()
    assert surveys(platform, "dm-alice") == [] and surveys(platform, "dm-carol") == []


async def test_ratings_are_checked(desk: Desk, worker: DeliveryWorker) -> None:
    await desk.receive(dm(ALICE, "Where is my invoice?", message_id="m1"))
    early = await desk.run(ALICE, "/ticket rate 1 5")
    assert not early.ok and "we ask for a rating when a ticket is closed" in early.text
    assert (await desk.run(BOB, "/ticket close 1")).ok
    bad = await desk.run(ALICE, "/ticket rate 1 10")
    assert not bad.ok and bad.text.startswith("Rate from 1 (poor) to 5 (great)")
    other = await desk.run(BOB, "/ticket rate 1 1")
    assert not other.ok and other.text == "Only Alice, who opened #1, can rate it."
    stranger = await desk.run(CAROL, "/ticket rate 1 1")
    assert not stranger.ok and "There is no ticket #1" in stranger.text
