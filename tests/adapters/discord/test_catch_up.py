"""Catch-up after downtime: what customers wrote while the bot was down, or while a session Discord would not
resume was being replaced, is read back from channel history and taken in exactly once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.bot import DeskBot
from bot.records import TicketQuery
from tests.adapters.discord.conftest import World, running_world
from tests.adapters.discord.people import find
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord, eventually
from tests.fakes.patience import until

ACK = "we've opened ticket #"


async def caught_up(world: World, runs: int = 1) -> None:
    """The bot's catch-up of the current session finished, and everything it took in was handled and posted."""
    await eventually(
        lambda: world.adapter.bot is not None and world.adapter.bot.catch_up.runs >= runs, what="the catch-up"
    )
    await settled(world)


async def settled(world: World) -> None:
    """Nothing waits in the inbox or the outbox, and no message is being handled."""

    async def idle() -> bool:
        async with world.db.reading() as uow:
            waiting, _ = await uow.inbound.depth()
            unsent = await uow.ops_stats.pending_count()
        return waiting == 0 and unsent == 0 and world.desk.gate.in_flight == 0

    await until(idle, "the desk to be idle (nothing waiting, unsent or in hand)")


def acks(fake: FakeDiscord, thread: str) -> list[str]:
    return [m["content"] for m in fake.bot_messages_in(thread) if ACK in m["content"]]


def relays(fake: FakeDiscord, card_thread: str, needle: str) -> list[str]:
    return [m["content"] for m in fake.bot_messages_in(card_thread) if needle in m["content"]]


async def tickets(world: World) -> int:
    async with world.db.reading() as uow:
        return len(await uow.tickets.list_tickets(TicketQuery(limit=1000)))


def cards(fake: FakeDiscord, world: World) -> dict[str, dict[str, Any]]:
    """Queue cards by their title's ticket number (`#3`)."""
    shown = [m for m in fake.bot_messages_in(world.queue) if m["embeds"] and m["embeds"][0]["title"].startswith("#")]
    return {m["embeds"][0]["title"].split(" ")[0]: m for m in shown}


async def test_messages_written_while_the_bot_was_down_are_taken_in_once_at_start(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    fake = world.fake
    asked = fake.say(world.alice, world.intake, "The CSV export is empty")
    await eventually(lambda: find(fake, asked, f"{ACK}1"), what="ticket #1")
    dm = fake.dm_channel(world.carol)
    fake.say(world.carol, dm, "I cannot log in since this morning")
    await eventually(lambda: find(fake, dm, f"{ACK}2") and len(cards(fake, world)) == 2, what="ticket #2")
    await settled(world)

    await world.stop()
    erin = fake.user("Erin")
    fake.say(world.alice, asked, "Still empty this morning")  # in her ticket's thread
    fake.say(world.bob, asked, "Looking into it now")  # an agent, in the customer's thread
    fake.say(world.carol, dm, "My username is carol.k")  # in her ticket's DM
    new = fake.say(erin, world.intake, "The invoices page is blank")  # a new ticket
    fake.say(world.dana, fake.text_channel("random"), "lunch?")  # not a channel the desk reads
    caplog.set_level(logging.INFO, logger="adapters.discord.catch_up")
    await world.restart()
    await caught_up(world)

    assert len(acks(fake, new)) == 1 and f"{ACK}3" in acks(fake, new)[0]
    by_number = cards(fake, world)
    assert sorted(by_number) == ["#1", "#2", "#3"]
    assert len(relays(fake, by_number["#1"]["id"], "Alice wrote on #1: Still empty this morning")) == 1
    assert len(relays(fake, by_number["#2"]["id"], "Carol wrote on #2: My username is carol.k")) == 1
    assert relays(fake, by_number["#1"]["id"], "Looking into it") == []  # Bob's roles were looked up: an agent
    first = await world.desk.ticket(1)
    assert first is not None and first.first_response_at is not None  # his reply counts as the first response
    assert [r.getMessage() for r in caplog.records if "caught up" in r.getMessage()] == [
        "discord: caught up: 4 message(s) written while the bot was away taken in, from 3 of 3 conversation(s) "
        "read back (6 message(s) read; at most 500 messages and 24 h back each)"
    ]

    await world.restart()  # read back again: everything there was taken in already
    await caught_up(world)
    assert await tickets(world) == 3 and len(acks(fake, new)) == 1
    by_number = cards(fake, world)
    assert len(relays(fake, by_number["#1"]["id"], "Alice wrote on #1")) == 1
    assert len(relays(fake, by_number["#2"]["id"], "Carol wrote on #2: My username")) == 1
    assert world.adapter.bot is not None and world.adapter.bot.catch_up.last is not None
    assert world.adapter.bot.catch_up.last.recovered == 0


async def test_an_invalid_session_mid_burst_loses_nothing_and_doubles_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # discord.py's default hook sleeps 5 s before every IDENTIFY but a process's first (Discord's identify rate
    # limit, which the fake gateway does not have): the test waits on the new session instead
    monkeypatch.setattr(DeskBot, "before_identify_hook", _identify_at_once)
    fake = world.fake
    asked = fake.say(world.alice, world.intake, "Webhooks stopped firing")
    await eventually(lambda: find(fake, asked, f"{ACK}1"), what="ticket #1")
    people = [fake.user(f"Customer {n}") for n in range(60)]
    said: list[str] = []
    for n, person in enumerate(people[:20]):
        said.append(fake.say(person, world.intake, f"Problem number {n}"))
    fake.say(world.alice, asked, "Before the invalid session")
    fake.invalidate_session()  # non-resumable: the client must IDENTIFY again
    for n, person in enumerate(people[20:40], start=20):  # in the gap: never dispatched
        said.append(fake.say(person, world.intake, f"Problem number {n}"))
    fake.say(world.alice, asked, "During the gap")
    await eventually(lambda: fake.identifies == 2 and fake.connected.is_set(), what="a new session")
    for n, person in enumerate(people[40:], start=40):  # live again (first held, then taken in after the gap's)
        said.append(fake.say(person, world.intake, f"Problem number {n}"))
    fake.say(world.alice, asked, "After the new session")
    assert fake.resumes == 0

    await caught_up(world, runs=2)  # the first session's, at start, and the new session's
    await eventually(lambda: all(acks(fake, thread) for thread in said), what="an ack for every message")
    await settled(world)
    assert await tickets(world) == 61
    assert all(len(acks(fake, thread)) == 1 for thread in said)
    by_number = cards(fake, world)
    assert len(by_number) == 61 and sorted(by_number) == sorted(f"#{n}" for n in range(1, 62))
    notes = [m["content"] for m in fake.bot_messages_in(by_number["#1"]["id"]) if "Alice wrote on #1" in m["content"]]
    assert notes == [
        "Alice wrote on #1: Before the invalid session",
        "Alice wrote on #1: During the gap",
        "Alice wrote on #1: After the new session",
    ]  # once each, in the order she wrote them


async def _identify_at_once(self: DeskBot, shard_id: int | None, *, initial: bool = False) -> None:
    """`discord.Client.before_identify_hook` without its wait."""


async def test_catch_up_reads_at_most_the_bound_of_messages_per_conversation(
    fake: FakeDiscord, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_world(fake, db_path, catch_up_messages=5) as world:
        fake.say(world.alice, world.intake, "Exports are empty")
        await eventually(lambda: cards(fake, world), what="ticket #1")
        await settled(world)
        await world.stop()
        people = [fake.user(f"Customer {n}") for n in range(8)]
        said = [fake.say(person, world.intake, f"Problem number {n}") for n, person in enumerate(people)]
        await world.restart()
        await caught_up(world)
        assert [bool(acks(fake, thread)) for thread in said] == [True] * 5 + [False] * 3  # the first five
        assert await tickets(world) == 6
        assert any("read back 5 messages in channel" in r.getMessage() for r in caplog.records)


async def test_catch_up_reads_nothing_older_than_the_bound_of_hours(fake: FakeDiscord, db_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))
    async with running_world(fake, db_path, clock=clock, catch_up_hours=24) as world:
        fake.say(world.alice, world.intake, "Exports are empty")
        await eventually(lambda: cards(fake, world), what="ticket #1")
        await settled(world)
        await world.stop()
        clock.advance(hours=30)  # down for 30 hours
        erin, finn = fake.user("Erin"), fake.user("Finn")
        old = fake.say(erin, world.intake, "Written 29 hours ago", at=clock.now() - timedelta(hours=29))
        recent = fake.say(finn, world.intake, "Written 2 hours ago", at=clock.now() - timedelta(hours=2))
        await world.restart()
        await caught_up(world)
        assert acks(fake, recent) and not acks(fake, old)
        assert await tickets(world) == 2
