"""The durable inbox: a message kept before the platform hears it arrived is handled exactly once, even when the
process dies between keeping and handling it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import build_desk
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.domain.refs import UserRef
from bot.ports import Store
from bot.records import TicketQuery
from bot.storage import open_store
from tests.conftest import ALICE, dm
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.fakes.sql import sql


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_a_message_kept_but_not_handled_before_a_crash_is_handled_at_the_next_start(
    db_path: Path, settings: Settings, clock: FakeClock
) -> None:
    message = dm(ALICE, "The export to CSV is empty", message_id="ev-1")
    async with open_store(db_path) as db:  # first life: acknowledged to the platform, then the process died
        desk = build_desk(settings, db, clock=clock)
        assert await desk.accept(message)
    async with open_store(db_path) as db:  # second life
        desk = build_desk(settings, db, clock=clock)
        assert await desk.handle_waiting() == 1
        assert not await desk.accept(message)  # the platform's redelivery of it: nothing to do
        assert await desk.receive(message) is None
        assert await desk.handle_waiting() == 0
        async with db.reading() as uow:
            [ticket] = await uow.tickets.list_tickets(TicketQuery())
        assert ticket.description == "The export to CSV is empty"
        assert sql(db, "SELECT COUNT(*) FROM inbox") == [(0,)]


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_a_redelivery_while_the_first_delivery_waits_keeps_one_copy(db: Store, settings: Settings) -> None:
    desk = build_desk(settings, db)
    message = dm(ALICE, "Card declined", message_id="ev-2")
    assert await desk.accept(message)
    assert not await desk.accept(message)
    ticket = await desk.receive(message)
    assert ticket is not None and ticket.number == 1
    assert await desk.receive(message) is None
    assert sql(desk.ctx.store, "SELECT COUNT(*) FROM inbox") == [(0,)]


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_what_is_not_for_the_desk_is_not_kept(db: Store, settings: Settings) -> None:
    desk = build_desk(settings, db)
    chatter = dm(ALICE, "   ").model_copy(update={"is_direct": False, "channel": "random"})
    assert not await desk.accept(chatter)
    assert sql(desk.ctx.store, "SELECT COUNT(*) FROM inbox") == [(0,)]


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_a_message_that_keeps_failing_is_given_up_with_one_line(
    db_path: Path, settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_store(db_path) as db:
        desk = build_desk(settings, db, clock=clock)
        assert await desk.accept(dm(ALICE, "Help!", message_id="ev-3"))
        sql(db, "DROP TABLE ticket_events")  # every attempt to handle it fails
        for _ in range(5):
            assert await desk.handle_waiting() == 0
        assert sql(db, "SELECT COUNT(*) FROM inbox") == [(0,)]
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert errors == [errors[0]] and "ev-3 could not be handled after 5 attempts, dropped" in errors[0]


class SlackLikeNames:
    """A platform whose events carry only user ids; it names people when asked (as Slack's `users.info`)."""

    platform = "test"

    async def person(self, user_id: str, hint: str = "") -> UserRef:
        return UserRef(platform=self.platform, id=user_id, name={"alice": "Alice Liddell"}.get(user_id, hint))


async def test_a_message_handled_after_a_restart_greets_the_customer_by_name(
    db: Store, settings: Settings, clock: FakeClock, platform: RecordingPlatform, worker: DeliveryWorker
) -> None:
    nameless = UserRef(platform="test", id="alice", name="alice")  # what the platform's event said
    kept = dm(nameless, "The export to CSV is empty", message_id="ev-5")
    assert await build_desk(settings, db, clock=clock).accept(kept)  # then the process died
    desk = build_desk(settings, db, clock=clock, name_sources=[SlackLikeNames()])  # the next start
    assert await desk.handle_waiting() == 1
    await worker.drain()
    [ack] = platform.texts("dm-alice", "ev-5")
    assert ack.startswith("Thanks, Alice Liddell — we've opened ticket #1")
    shown = await desk.ticket(1)
    assert shown is not None and shown.customer.name == "Alice Liddell"


async def test_waiting_messages_are_left_for_the_next_start_once_the_drain_has_begun(
    db: Store, settings: Settings, clock: FakeClock
) -> None:
    desk = build_desk(settings, db, clock=clock)
    assert await desk.accept(dm(ALICE, "The export to CSV is empty", message_id="ev-5"))
    desk.gate.draining = True  # SIGTERM: the periodic retry must not start new work while the outbox is flushed
    assert await desk.handle_waiting() == 0
    async with db.reading() as uow:
        assert await uow.tickets.list_tickets(TicketQuery()) == []
    restarted = build_desk(settings, db, clock=clock)  # the next start
    assert await restarted.handle_waiting() == 1
    async with db.reading() as uow:
        [ticket] = await uow.tickets.list_tickets(TicketQuery())
    assert ticket.description == "The export to CSV is empty"
