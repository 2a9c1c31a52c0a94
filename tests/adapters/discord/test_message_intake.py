"""A ticket for someone's message on Discord, as on Slack: the 🎫 reaction and the "Create ticket" message
command, for the message's author, wherever it was written."""

from __future__ import annotations

from pathlib import Path

from tests.adapters.discord.conftest import World, running_world
from tests.adapters.discord.people import find
from tests.fakes.discord_api import EPHEMERAL, FakeDiscord, eventually


async def test_the_ticket_reaction_opens_a_ticket_for_the_messages_author(world: World) -> None:
    fake = world.fake
    general = fake.text_channel("general")  # not an intake channel: writing here opens nothing by itself
    asked = fake.say(world.alice, general, "Is anyone else unable to export invoices?")
    fake.react(world.bob, asked, "🎫")
    ack = await eventually(lambda: find(fake, asked, "we've opened ticket #1"), what="the ack in the message's thread")
    assert ack["content"].startswith("Thanks, Alice")
    assert fake.channels[asked]["type"] == 11 and fake.channels[asked]["parent_id"] == general
    card = (await eventually(lambda: fake.bot_messages_in(world.queue), what="the card"))[0]
    assert card["embeds"][0]["title"] == "#1 · Is anyone else unable to export invoices?"
    ticket = await world.desk.ticket(1)
    assert ticket is not None and ticket.customer.name == "Alice"  # the author's ticket, not the reactor's
    assert fake.bot_messages_in(general) == []  # nothing said where everyone reads

    # a second 🎫, another emoji, and the bot's own reaction change nothing
    fake.react(world.carol, asked, "🎫")
    fake.react(world.bob, asked, "👍")
    later = fake.say(world.carol, general, "the dark mode toggle is gone")
    fake.react(world.dana, later, "\N{TICKET}\N{VARIATION SELECTOR-16}")  # the same emoji with a variation selector
    await eventually(lambda: len(fake.bot_messages_in(world.queue)) == 2, what="the second card")
    titles = [m["embeds"][0]["title"] for m in fake.bot_messages_in(world.queue)]
    assert titles == ["#1 · Is anyone else unable to export invoices?", "#2 · the dark mode toggle is gone"]


async def test_a_message_inside_a_thread_gets_a_new_thread_beside_it(world: World) -> None:
    fake = world.fake
    general = fake.text_channel("general")
    chat = fake.thread(general, "weekend plans", owner=world.carol)
    fake.say(world.carol, chat, "anyone going hiking?")  # ordinary conversation: not a ticket
    asked = fake.say(world.alice, chat, "btw my invoices page shows a 500 error")
    fake.react(world.bob, asked, "🎫")
    ticket_thread = await eventually(
        lambda: [
            t for t in fake.threads_of(general) if t["id"] != chat and world.alice["id"] in fake.thread_members[t["id"]]
        ],
        what="the ticket's own thread, Alice added",
    )
    assert ticket_thread[0]["type"] == 11
    await eventually(lambda: find(fake, ticket_thread[0]["id"], "we've opened ticket #1"), what="the ack there")
    assert fake.bot_messages_in(chat) == []


async def test_create_ticket_from_the_message_menu(world: World) -> None:
    fake = world.fake
    general = fake.text_channel("general")
    asked = fake.say(world.carol, general, "My CSV export has the wrong date format")
    made = fake.message_command(world.bob, asked, "Create ticket")
    await eventually(lambda: made.followups, what="the answer")
    assert made.texts == ["Opened ticket #1 for that message."]
    assert made.callbacks[0]["data"]["flags"] & EPHEMERAL and made.followups[0]["flags"] & EPHEMERAL
    await eventually(lambda: find(fake, asked, "we've opened ticket #1"), what="the ack in Carol's thread")

    again = fake.message_command(world.dana, asked, "Create ticket")
    await eventually(lambda: again.followups)
    assert again.texts == ["✗ No new ticket: that message is already part of #1."]

    in_intake = fake.say(world.alice, world.intake, "Two-factor codes never arrive")  # opens #2 by itself
    await eventually(lambda: find(fake, in_intake, "we've opened ticket #2"))
    dup = fake.message_command(world.bob, in_intake, "Create ticket")
    await eventually(lambda: dup.followups)
    assert dup.texts == ["✗ No new ticket: that message is already part of #2."]

    bot_post = fake.bot_messages_in(world.queue)[0]["id"]
    refused = fake.message_command(world.bob, bot_post, "Create ticket")
    await eventually(lambda: refused.followups)
    assert refused.texts == ["✗ No ticket: that message was written by a bot or is a system notice."]
    assert len(fake.bot_messages_in(world.queue)) == 2


async def test_in_private_mode_the_ticket_is_a_private_thread_with_the_author(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    async with running_world(fake, tmp_path / "desk.db", thread_mode="private") as world:
        general = fake.text_channel("general")
        asked = fake.say(world.alice, general, "Please delete my account data")
        fake.react(world.bob, asked, "🎫")
        threads = await eventually(
            lambda: [t for t in fake.threads_of(general) if world.alice["id"] in fake.thread_members[t["id"]]],
            what="the private thread, Alice added",
        )
        thread = threads[0]
        assert thread["type"] == 12
        await eventually(lambda: find(fake, thread["id"], "we've opened ticket #1"), what="the ack in private")
        assert asked not in fake.channels and fake.bot_messages_in(general) == []
        fake.react(world.carol, asked, "🎫")  # already a ticket: no second private thread
        fake.say(world.carol, world.intake, "something else")
        await eventually(lambda: len(fake.bot_messages_in(world.queue)) == 2, what="the next ticket")
        assert len(fake.threads_of(general)) == 1


async def test_a_custom_server_emoji_can_be_the_ticket_reaction(fake: FakeDiscord, tmp_path: Path) -> None:
    async with running_world(fake, tmp_path / "desk.db", ticket_reaction="<:helpme:4242>") as world:
        general = fake.text_channel("general")
        first = fake.say(world.alice, general, "The calendar sync stopped")
        fake.react(world.bob, first, "🎫")  # not the configured one here
        second = fake.say(world.carol, general, "Webhooks fire twice")
        fake.react(world.bob, second, "helpme", emoji_id="4242")
        await eventually(lambda: find(fake, second, "we've opened ticket #1"), what="the ticket for Carol")
        cards = await eventually(lambda: fake.bot_messages_in(world.queue), what="the card (delivered after the ack)")
        assert [m["embeds"][0]["title"] for m in cards] == ["#1 · Webhooks fire twice"]
