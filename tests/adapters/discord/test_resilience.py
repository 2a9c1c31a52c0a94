"""Gateway drops and bot restarts lose nothing; buttons posted before a restart still work after it."""

from __future__ import annotations

import sqlite3

import pytest

from bot.domain.inbound import IncomingMessage
from bot.domain.ticket import Ticket
from tests.adapters.discord.conftest import World
from tests.adapters.discord.people import buttons, fields, find
from tests.fakes.discord_api import eventually


async def test_a_dropped_gateway_resumes_and_loses_no_ticket(world: World) -> None:
    fake = world.fake
    assert fake.compression in ("zlib-stream", "zstd-stream")  # compressed as discord.py asked (zstd if installed)
    await fake.disconnect(code=4000)
    # written while the bot is disconnected: Discord keeps the dispatch for the RESUME
    asked = fake.say(world.carol, world.intake, "The mobile app crashes when I open a board")
    await eventually(lambda: fake.resumes == 1, what="a RESUME")
    ack = await eventually(lambda: find(fake, asked, "we've opened ticket #1"), what="the ticket opened after resume")
    assert ack["channel_id"] == asked
    assert fake.identifies == 1  # resumed the session, not a new one
    assert await world.desk.ticket(1) is not None and await world.desk.ticket(2) is None


async def test_a_replayed_message_opens_one_ticket(world: World) -> None:
    fake = world.fake
    asked = fake.say(world.carol, world.intake, "Billing charged me twice")
    await eventually(lambda: find(fake, asked, "ticket #1"))
    fake.dispatch("MESSAGE_CREATE", fake.messages[asked])  # Discord re-sends the same event
    fake.say(world.alice, world.intake, "Another problem")
    await eventually(lambda: len(fake.bot_messages_in(world.queue)) == 2, what="the second card")
    titles = [m["embeds"][0]["title"] for m in fake.bot_messages_in(world.queue)]
    assert titles == ["#1 · Billing charged me twice", "#2 · Another problem"]


async def test_buttons_work_after_the_bot_restarts(world: World) -> None:
    fake = world.fake
    asked = fake.say(world.alice, world.intake, "Where can I download my invoices?")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue), what="the card"))[0]
    await eventually(lambda: find(fake, asked, "ticket #1"))

    await world.restart()
    assert fake.identifies == 2

    claim = fake.press(world.bob, card["id"], "Claim")
    await eventually(lambda: claim.followups, what="the claim answer after the restart")
    assert claim.texts[0].startswith("You claimed #1")
    await eventually(lambda: fields(fake.messages[card["id"]])["Assignee"] == "Bob", what="card edited")
    pick = fake.press(world.bob, card["id"], "Set priority", value="/ticket priority 1 urgent")
    await eventually(lambda: pick.followups, what="the priority answer")
    await eventually(lambda: fields(fake.messages[card["id"]])["Priority"] == "urgent", what="priority on card")
    assert "Escalate" not in buttons(fake.messages[card["id"]])
    # the customer's thread (created before the restart) still takes posts
    fake.slash(world.bob, asked, "ticket", "reply", text="Billing → Invoices, top right.")
    await eventually(lambda: find(fake, asked, "Bob: Billing → Invoices"), what="a reply in the old thread")


async def test_a_message_in_an_archived_thread_unknown_to_the_cache_still_joins_its_ticket(world: World) -> None:
    fake = world.fake
    asked = fake.say(world.alice, world.intake, "Two-factor codes are rejected")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue)))[0]
    await eventually(lambda: find(fake, asked, "ticket #1"))
    fake.channels[asked]["thread_metadata"]["archived"] = True  # a week later: archived, not in GUILD_CREATE
    await world.restart()
    fake.say(world.alice, asked, "Still rejected after a week")
    await eventually(lambda: find(fake, card["id"], "Alice wrote on #1: Still rejected"), what="joined")
    assert fake.calls_to("GET", rf"/channels/{asked}")  # looked the thread up to learn its parent


async def test_a_message_that_fails_once_is_taken_in_on_the_next_try(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = world.desk.receive
    failures = [sqlite3.OperationalError("database is locked")]

    async def busy_once(msg: IncomingMessage) -> Ticket | None:
        if failures:
            raise failures.pop()
        return await real(msg)

    monkeypatch.setattr(world.desk, "receive", busy_once)
    asked = world.fake.say(world.alice, world.intake, "Invoices page is blank")
    await eventually(lambda: find(world.fake, asked, "we've opened ticket #1"), what="the ticket after a retry")
    assert failures == []


async def test_modals_keep_nothing_in_memory_two_agents_and_a_restart(world: World) -> None:
    fake = world.fake
    erin = fake.user("Erin", *fake.members[world.bob["id"]])  # another agent
    asked = fake.say(world.alice, world.intake, "Webhooks stopped firing")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue)))[0]
    await eventually(lambda: find(fake, asked, "ticket #1"))
    bobs = fake.press(world.bob, card["id"], "Reply")
    erins = fake.press(erin, card["id"], "Reply")
    await eventually(lambda: bobs.modal and erins.modal, what="two open modals")
    fake.submit_modal(erin, erins, "Erin here: which endpoint?")
    await eventually(lambda: find(fake, asked, "Erin: Erin here"), what="Erin's reply")
    await world.restart()
    fake.submit_modal(world.bob, bobs, "Bob here: we restarted the queue")
    await eventually(lambda: find(fake, asked, "Bob: Bob here"), what="Bob's reply, submitted after a restart")
