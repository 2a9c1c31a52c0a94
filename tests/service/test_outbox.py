"""The outbox: nothing is lost between commit and delivery, retries honour Retry-After, order per thread."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import build_desk
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.domain.refs import MessageRef, UserRef
from bot.outbound import Destination, DestinationKind, Message
from bot.ports import DeliveryRefused, PostLookup, RetryLater, Store
from bot.services.desk import Desk
from bot.storage import open_store
from tests.conftest import ALICE, BOB, dm
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.fakes.sql import sql


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_committed_but_undelivered_posts_go_out_after_a_restart_exactly_once(
    db_path: Path, settings: Settings, clock: FakeClock
) -> None:
    async with open_store(db_path) as db:  # first life: the process dies right after the commit
        desk = build_desk(settings, db, clock=clock)
        await desk.receive(dm(ALICE, "Card declined at checkout", message_id="root"))
    platform = RecordingPlatform()
    async with open_store(db_path) as db:  # second life: the worker resumes on start
        worker = DeliveryWorker(db, {"test": platform}, clock)
        await worker.drain()
        await worker.drain()
    async with open_store(db_path) as db:  # third life: nothing is sent twice
        worker = DeliveryWorker(db, {"test": platform}, clock)
        await worker.drain()
        async with db.reading() as uow:
            assert await uow.outbox.pending_count() == 0
    assert [p.text.split(" —")[0] for p in platform.in_thread("dm-alice", "root")] == ["Thanks, Alice"]
    assert len(platform.in_channel("queue")) == 1


async def test_429_waits_for_retry_after_and_loses_nothing(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, clock: FakeClock
) -> None:
    await desk.receive(dm(ALICE, "Where is my invoice", message_id="root"))
    await desk.run(BOB, "/ticket claim 1")
    await desk.run(BOB, "/ticket reply 1 Sent it to your email")
    platform.fail_next(RetryLater("HTTP 429", retry_after=30), RetryLater("HTTP 429", retry_after=30))
    await worker.drain()  # the ack (customer thread) and the card (queue) both hit the rate limit
    assert platform.sent == []
    clock.advance(seconds=29)
    await worker.drain()
    assert platform.sent == []
    clock.advance(seconds=2)
    await worker.drain()
    texts = platform.texts("dm-alice", "root")
    assert [t.split(" —")[0] for t in texts] == [
        "Thanks, Alice",
        "Bob is looking at this.",
        "Bob: Sent it to your email",
    ]


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_5xx_backs_off_exponentially_then_gives_up_visibly(
    desk: Desk, db: Store, platform: RecordingPlatform, clock: FakeClock
) -> None:
    worker = DeliveryWorker(db, {"test": platform}, clock, max_attempts=3, base_backoff=2)
    await desk.receive(dm(ALICE, "Mobile app won't sync", message_id="root"))
    sql(db, "DELETE FROM outbox WHERE ordering_key LIKE 'card:%'")
    platform.fail_next(*(RetryLater("HTTP 503") for _ in range(3)))
    await worker.drain()
    clock.advance(seconds=1.9)
    await worker.drain()
    assert platform.calls == 1  # still backing off (2 s)
    clock.advance(seconds=0.2)
    await worker.drain()
    clock.advance(seconds=4.1)
    await worker.drain()
    assert platform.calls == 3
    async with db.reading() as uow:
        assert await uow.outbox.pending_count() == 0
        [message] = [m for m in await uow.messages.messages_for(1) if m.author_role == "bot"]
    assert message.delivery == "failed"  # the transcript shows what did not arrive
    shown = await desk.run(BOB, "/ticket show 1")
    assert "ThreadDesk (failed): Thanks, Alice" in shown.text


async def test_refused_post_does_not_block_the_thread(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk.receive(dm(ALICE, "Delete my account", message_id="root"))
    await desk.run(BOB, "/ticket reply 1 Done, it is deleted")
    # the first post into Alice's thread is refused: by where it goes, not by call order (the queue card is
    # sent at the same time, and which of the two reaches the platform first is up to the machine)
    refused: list[str] = []
    post = platform.post_message

    async def refuse_the_first_in_alices_thread(channel: str, message: Message, **where: Any) -> MessageRef:
        if channel == "dm-alice" and not refused:
            refused.append(message.text)
            raise DeliveryRefused("channel_not_found")
        return await post(channel, message, **where)

    monkeypatch.setattr(platform, "post_message", refuse_the_first_in_alices_thread)
    await worker.drain()
    assert refused and refused[0].startswith("Thanks, Alice — we've opened ticket #1")
    assert platform.texts("dm-alice", "root") == ["Bob: Done, it is deleted"]


async def test_card_updates_coalesce_while_waiting(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await desk.receive(dm(ALICE, "SSO login loops", message_id="root"))
    await desk.run(BOB, "/ticket claim 1")
    await desk.run(BOB, "/ticket priority 1 urgent")
    await desk.run(BOB, "/ticket tag 1 sso")
    await worker.drain()
    [card] = platform.in_channel("queue")
    assert card.edits == []  # one post carrying the latest state, not four
    fields = {f.name: f.value for f in card.current.fields}
    assert (fields["Assignee"], fields["Priority"], fields["Tags"]) == ("Bob", "urgent", "sso")
    await desk.run(BOB, "/ticket status 1 pending")
    await worker.drain()
    assert len(card.edits) == 1 and {f.name: f.value for f in card.current.fields}["Status"] == "pending"


async def test_platform_not_running_keeps_posts_pending(desk: Desk, db: Store, clock: FakeClock) -> None:
    await desk.receive(dm(ALICE, "Hello, the export is empty", message_id="root"))
    other = RecordingPlatform(name="elsewhere")
    await DeliveryWorker(db, {"elsewhere": other}, clock).drain()
    async with db.reading() as uow:
        assert await uow.outbox.pending_count() == 2


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_a_command_cancelled_mid_transaction_leaves_the_store_usable(desk: Desk, db: Store) -> None:
    """A task stopped inside a unit of work (shutdown, a client gone) rolls back; later commands work."""
    entered = asyncio.Event()

    async def stuck() -> None:
        async with db.transaction() as uow:
            await uow.people.remember_person(UserRef(platform="t", id="x", name="X"), datetime.now(UTC))
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(stuck())
    await entered.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    ticket = await desk.receive(dm(ALICE, "still there?"))
    assert ticket is not None and ticket.number == 1
    assert sql(db, "SELECT * FROM people WHERE id = 'x'") == []


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_cancelled_while_beginning_still_leaves_no_open_transaction(desk: Desk, db: Store) -> None:
    async def begin_only() -> None:
        async with db.transaction():
            await asyncio.sleep(3600)

    for _ in range(20):  # cancel at the first await: BEGIN was already handed to the database thread
        task = asyncio.create_task(begin_only())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert sql(db, "SELECT COUNT(*) FROM tickets") == [(0,)]  # no write lock left behind
    assert await desk.receive(dm(ALICE, "still there?")) is not None


class DiesAfterPosting(RecordingPlatform):
    """The platform takes each post, then the process dies before it hears the answer."""

    async def post_message(self, channel: str, message: Message, **kwargs: Any) -> MessageRef:
        await super().post_message(channel, message, **kwargs)
        raise asyncio.CancelledError  # as a kill would: no bookkeeping runs after it


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_a_post_whose_answer_a_crash_lost_is_found_not_posted_again(
    db_path: Path, settings: Settings, clock: FakeClock
) -> None:
    dying = DiesAfterPosting()
    async with open_store(db_path) as db:  # first life: the acknowledgement is posted, then the process dies
        desk = build_desk(settings, db, clock=clock)
        await desk.receive(dm(ALICE, "Card declined at checkout", message_id="root"))
        with contextlib.suppress(asyncio.CancelledError):
            await DeliveryWorker(db, {"test": dying}, clock).deliver_due()
    platform = RecordingPlatform(sent=dying.sent)  # the same chat, seen by the next process
    async with open_store(db_path) as db:
        await DeliveryWorker(db, {"test": platform}, clock).drain()
        async with db.reading() as uow:
            assert await uow.outbox.pending_count() == 0
    assert len(platform.in_thread("dm-alice", "root")) == 1  # the acknowledgement, once
    assert len(platform.in_channel("queue")) == 1  # the card, once


async def test_delivered_ids_name_the_posts_of_a_platform_from_a_moment_on(db: Store, clock: FakeClock) -> None:
    """What `find_post` is told is not the post it looks for: rows delivered on that platform since then."""
    destination = Destination(kind=DestinationKind.CHANNEL, platform="discord", channel="C1")
    async with db.transaction() as uow:
        for n in range(3):
            await uow.outbox.enqueue(destination, Message(text=f"post {n}"), at=clock.now())
        await uow.outbox.enqueue(
            destination.model_copy(update={"platform": "slack"}), Message(text="x"), at=clock.now()
        )
    async with db.reading() as uow:
        rows = await uow.outbox.due(clock.now(), platforms=("discord",))
    [first] = rows
    async with db.transaction() as uow:
        await uow.outbox.mark_delivered(first, clock.now(), "m-early")
    clock.advance(minutes=30)
    since = clock.now()
    for delivered in ("m-1", "m-2"):
        async with db.reading() as uow:
            [row] = await uow.outbox.due(clock.now(), platforms=("discord",))
        async with db.transaction() as uow:
            await uow.outbox.mark_delivered(row, clock.now(), delivered)
    async with db.reading() as uow:
        [slack] = await uow.outbox.due(clock.now(), platforms=("slack",))
    async with db.transaction() as uow:
        await uow.outbox.mark_delivered(slack, clock.now(), "s-1")
        assert await uow.outbox.delivered_ids("discord", since) == {"m-1", "m-2"}
        assert await uow.outbox.delivered_ids("discord", since - timedelta(hours=1)) == {"m-early", "m-1", "m-2"}


@dataclass
class Watched(RecordingPlatform):
    """Records from when each look for a post with an unknown outcome starts."""

    looked_since: list[datetime | None] = field(default_factory=list)

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        self.looked_since.append(lookup.since)
        return await super().find_post(lookup)


async def test_a_post_unknown_again_and_again_is_looked_for_from_the_first_attempt(db: Store, clock: FakeClock) -> None:
    """Each attempt may have posted it: the look starts when the first of them began, not the latest."""
    platform = Watched()
    worker = DeliveryWorker(db, {"test": platform}, clock)
    destination = Destination(kind=DestinationKind.CHANNEL, platform="test", channel="leads")
    async with db.transaction() as uow:
        await uow.outbox.enqueue(destination, Message(text="Escalated #7"), at=clock.now())
    began = clock.now()
    platform.fail_next(*(RetryLater("no answer", outcome_unknown=True) for _ in range(2)))
    for _ in range(3):
        await worker.drain()
        clock.advance(seconds=50)
    assert platform.looked_since == [began, began]
    assert platform.texts("leads") == ["Escalated #7"]
