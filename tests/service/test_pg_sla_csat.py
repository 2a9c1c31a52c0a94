"""SLA clocks, SLA alerts and satisfaction surveys: stored once, read back alike on both engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.domain.refs import ThreadRef, UserRef
from bot.domain.sla import Due, Level, ResolutionClock, Target
from bot.domain.ticket import Priority
from bot.ports import Store, UnitOfWork
from bot.records import StoredClock, Survey
from tests.contention import until_waiting

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
ALICE = UserRef(platform="t", id="alice", name="Alice")


async def open_one(uow: UnitOfWork) -> int:
    ticket = await uow.tickets.insert_ticket(
        subject="s",
        description="d",
        customer=ALICE,
        origin=ThreadRef(platform="t", channel="support", thread="th"),
        priority=Priority.NORMAL,
        category="general",
        at=NOW,
    )
    return ticket.number


async def test_a_clock_is_saved_updated_and_loaded_with_the_alerts_fired(db: Store) -> None:
    async with db.transaction() as uow:
        number = await open_one(uow)
        assert await uow.sla.get_clock(number) is None
        assert await uow.sla.load(number) == (None, set())
        running = ResolutionClock(timedelta(minutes=3, microseconds=250), NOW)
        due = Due(NOW + timedelta(hours=1), NOW + timedelta(hours=8), NOW + timedelta(minutes=45), None)
        await uow.sla.save_clock(number, running, due)
    expected = StoredClock(running, NOW + timedelta(hours=1), NOW + timedelta(hours=8))
    async with db.reading() as uow:
        assert await uow.sla.get_clock(number) == expected
        assert await uow.sla.load(number) == (expected, set())
    paused = ResolutionClock(timedelta(hours=2, seconds=1.5), None)
    async with db.transaction() as uow:
        await uow.sla.save_clock(number, paused, Due(None, None, None, None, paused=True))
        assert await uow.sla.record_alert(number, Target.FIRST_RESPONSE, Level.WARNING, NOW, NOW, False)
        assert await uow.sla.record_alert(number, Target.RESOLUTION, Level.BREACH, NOW, NOW, True)
        assert not await uow.sla.record_alert(
            number, Target.FIRST_RESPONSE, Level.WARNING, NOW, NOW + timedelta(hours=1), True
        )
        assert await uow.sla.load(number) == (
            StoredClock(paused, None, None),
            {("first_response", "warning"), ("resolution", "breach")},
        )
    async with db.reading() as uow:
        assert await uow.sla.get_clock(number) == StoredClock(paused, None, None)
        assert await uow.sla.load(number + 1) == (None, set())


async def test_a_survey_is_asked_once_and_rated(db: Store) -> None:
    async with db.transaction() as uow:
        number = await open_one(uow)
        assert await uow.csat.get(number) is None
        assert await uow.csat.ask(number, NOW)
        assert not await uow.csat.ask(number, NOW + timedelta(days=1))
        assert await uow.csat.get(number) == Survey(number, None, None, None)
    async with db.transaction() as uow:
        await uow.csat.rate(number, 4, "quick", NOW + timedelta(hours=1))
        assert await uow.csat.get(number) == Survey(number, 4, "quick", NOW + timedelta(hours=1))
        await uow.csat.rate(number, 5, None, NOW + timedelta(hours=2))  # no new comment: the old one stays
    async with db.reading() as uow:
        assert await uow.csat.get(number) == Survey(number, 5, "quick", NOW + timedelta(hours=2))


async def test_units_racing_to_ask_and_to_alert_do_it_once(db: Store) -> None:
    async with db.transaction() as uow:
        number = await open_one(uow)

    async def ask_and_alert() -> tuple[bool, bool]:
        async with db.transaction() as uow:
            asked = await uow.csat.ask(number, NOW)
            if asked:  # the one that asked: the other two wait for it
                await until_waiting(db, 2)
            fired = await uow.sla.record_alert(number, Target.RESOLUTION, Level.WARNING, NOW, NOW, False)
            return asked, fired

    results = await asyncio.gather(*(ask_and_alert() for _ in range(3)))
    assert sorted(results) == [(False, False), (False, False), (True, True)]
