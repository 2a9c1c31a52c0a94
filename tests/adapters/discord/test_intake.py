"""Intake over DMs and private threads, app commands (sync, autocomplete, ephemeral errors), start-up checks."""

from __future__ import annotations

from pathlib import Path

import pytest

import adapters.discord as discord_adapter
from adapters.discord import DiscordAdapter
from adapters.discord.config import DiscordConfig
from adapters.registry import AdapterStartupError
from bot.config import Settings
from bot.domain.commands import GROUPS, SPECS
from bot.domain.roles import Role
from bot.storage import open_store
from tests.adapters.discord.conftest import World, discord_config, running_world
from tests.adapters.discord.people import buttons, fields, find
from tests.fakes.discord_api import EPHEMERAL, FakeDiscord, eventually


async def test_a_dm_opens_a_ticket_and_later_dms_join_it(world: World) -> None:
    fake = world.fake
    dm = fake.dm_channel(world.carol)
    fake.say(world.carol, dm, "How do I change the email on my account?")
    await eventually(lambda: find(fake, dm, "we've opened ticket #1"), what="the ack in the DM")
    assert fake.threads_of(dm) == []  # DMs have no threads: the DM is the conversation
    card = (await eventually(lambda: fake.bot_messages_in(world.queue)))[0]
    fake.say(world.carol, dm, "It's carol@example.com now")
    await eventually(lambda: find(fake, card["id"], "Carol wrote on #1: It's carol@example.com now"), what="copy")
    fake.slash(world.bob, world.queue, "ticket", "reply", ticket=1, text="Done — check your inbox.")
    await eventually(lambda: find(fake, dm, "Bob: Done — check your inbox."), what="the reply in the DM")
    assert len(fake.bot_messages_in(world.queue)) == 1  # one ticket, not two


async def test_errors_are_ephemeral_and_say_what_to_do(world: World) -> None:
    fake = world.fake
    fake.say(world.alice, world.intake, "I need help with SSO")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue)))[0]
    denied = fake.press(world.alice, card["id"], "Claim")  # a customer pressing an agent's button
    await eventually(lambda: denied.followups, what="the refusal")
    # named as Discord shows the agents' command: `/ticket-claim`
    assert denied.texts == ["✗ Only agents can use `/ticket-claim`. You are signed in as a customer."]
    assert denied.callbacks[0]["data"]["flags"] & EPHEMERAL and denied.followups[0]["flags"] & EPHEMERAL
    missing = fake.slash(world.bob, world.queue, "ticket", "show", ticket=42)
    await eventually(lambda: missing.followups)
    assert "#42" in missing.texts[0] and missing.followups[0]["flags"] & EPHEMERAL
    assert fields(fake.messages[card["id"]])["Assignee"] == "unassigned"


async def test_a_crash_inside_a_command_becomes_an_ephemeral_apology(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(world.desk, "run", broken)
    asked = world.fake.slash(world.bob, world.queue, "ticket", "list")
    await eventually(lambda: asked.followups, what="the apology")
    assert asked.texts == ["✗ Sorry — something went wrong on our side and nothing was changed. Please try again."]
    assert asked.followups[0]["flags"] & EPHEMERAL


async def test_commands_are_synced_to_the_guild_with_typed_options(world: World) -> None:
    fake = world.fake
    synced = fake.calls_to("PUT", rf"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands")
    assert len(synced) == 1
    commands = {c["name"]: c for c in synced[0].body}
    agents_only, leads_only = str(1 << 34), str(1 << 5)  # Manage Threads, Manage Server
    # every command of the core's language is an app command, so nothing is console- or Slack-only. What
    # customers may run sits under /ticket and /kb, which everyone sees; the agents' and leads' commands are
    # top-level (`/ticket-claim`) so that Discord shows them only to people with their default permissions
    for spec in SPECS:
        if spec.group in ("digest", "dashboard", "macro", "agent", "team", "incident") or spec.role is Role.CUSTOMER:
            # (digest, dashboard, macro, agent, team, incident: staff-only groups, hidden whole)
            assert spec.name in {o["name"] for o in commands[spec.group]["options"]}, spec.usage
        else:
            staff = commands[f"{spec.group}-{spec.name}"]
            wanted = leads_only if spec.role is Role.LEAD else agents_only
            assert str(staff["default_member_permissions"]) == wanted and staff["contexts"] == [0], spec.usage
    assert set(GROUPS) <= set(commands)
    assert str(commands["digest"]["default_member_permissions"]) == leads_only
    assert str(commands["dashboard"]["default_member_permissions"]) == agents_only
    assert str(commands["incident"]["default_member_permissions"]) == agents_only
    assert commands["ticket"].get("default_member_permissions") is None
    assert commands["kb"].get("default_member_permissions") is None
    assert commands["Create ticket"]["type"] == 3  # the message context menu
    priority = next(o for o in commands["ticket-priority"]["options"] if o["name"] == "priority")
    assert [c["value"] for c in priority["choices"]] == ["low", "normal", "high", "urgent"]
    ticket = next(o for o in commands["ticket-claim"]["options"] if o["name"] == "ticket")
    assert ticket["type"] == 4 and ticket["autocomplete"] is True and not ticket.get("required")
    # guilds, guild messages, guild reactions (the ticket reaction), DMs, message content
    assert fake.intents is not None and fake.intents == (1 << 0) | (1 << 9) | (1 << 10) | (1 << 12) | (1 << 15)


async def test_ticket_numbers_autocomplete_from_open_tickets(world: World) -> None:
    fake = world.fake
    fake.say(world.alice, world.intake, "Refund for the annual plan")
    # one at a time: two messages handled at once may take their ticket numbers in either order
    await eventually(lambda: len(fake.bot_messages_in(world.queue)) == 1)
    fake.say(world.carol, world.intake, "Export to CSV fails")
    await eventually(lambda: len(fake.bot_messages_in(world.queue)) == 2)
    agent = fake.autocomplete(world.bob, world.queue, "ticket", "claim", "")
    await eventually(lambda: agent.callbacks, what="choices")
    assert agent.callbacks[0]["type"] == 8
    assert [c["name"] for c in agent.callbacks[0]["data"]["choices"]] == [
        "#1 · Refund for the annual plan",
        "#2 · Export to CSV fails",
    ]
    customer = fake.autocomplete(world.carol, world.queue, "ticket", "show", "")
    await eventually(lambda: customer.callbacks)
    assert [c["value"] for c in customer.callbacks[0]["data"]["choices"]] == [2]


async def test_private_thread_mode_adds_the_customer_to_a_private_thread(fake: FakeDiscord, tmp_path: Path) -> None:
    async with running_world(fake, tmp_path / "desk.db", thread_mode="private") as world:
        asked = fake.say(world.alice, world.intake, "My payment card was declined")
        with_alice = await eventually(
            lambda: [t for t in fake.threads_of(world.intake) if world.alice["id"] in fake.thread_members[t["id"]]],
            what="the private thread with Alice added",
        )
        thread = with_alice[0]
        assert thread["type"] == 12 and thread["id"] != asked
        await eventually(lambda: find(fake, thread["id"], "we've opened ticket #1"), what="the ack")
        assert fake.bot_messages_in(world.intake) == []  # nothing posted where everyone reads
        fake.say(world.alice, thread["id"], "It's a Visa card")
        card = (await eventually(lambda: fake.bot_messages_in(world.queue)))[0]
        await eventually(lambda: find(fake, card["id"], "Alice wrote on #1: It's a Visa card"), what="joined")
        assert buttons(card)[0] == "Claim"

        # `/ticket new` in the intake channel is private too: no public post, a private thread for Carol
        opened = fake.slash(world.carol, world.intake, "ticket", "new", text="Please delete my data")
        await eventually(lambda: opened.followups, what="the answer")
        assert opened.texts == ["Opened #2: Please delete my data"]
        carols = await eventually(
            lambda: [t for t in fake.threads_of(world.intake) if world.carol["id"] in fake.thread_members[t["id"]]]
        )
        assert carols[0]["type"] == 12
        await eventually(lambda: find(fake, carols[0]["id"], "we've opened ticket #2"), what="the ack in private")
        assert fake.bot_messages_in(world.intake) == []


async def test_missing_message_content_intent_is_diagnosed_at_start(tmp_path: Path) -> None:
    fake = await FakeDiscord(message_content_intent=False).start()
    try:
        config = DiscordConfig.model_validate(discord_config(fake))
        adapter = DiscordAdapter(config, "fake-bot-token")
        from bot.bootstrap import build_desk

        async with open_store(tmp_path / "d.db") as db:
            desk = build_desk(Settings(), db)
            with pytest.raises(AdapterStartupError, match="Message Content Intent"):
                await adapter.serve(desk)
            bad_token = DiscordAdapter(config, "not-the-token")
            with pytest.raises(AdapterStartupError, match="DISCORD_TOKEN"):
                await bad_token.serve(desk)
    finally:
        await fake.stop()


def test_a_missing_token_is_reported_before_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    config = DiscordConfig(enabled=True)
    with pytest.raises(AdapterStartupError, match="DISCORD_TOKEN is not set"):
        discord_adapter.build(config, Settings())
    monkeypatch.setenv("DISCORD_TOKEN", "abc")
    assert discord_adapter.build(config, Settings()).token == "abc"


async def test_assign_to_an_agent_who_has_never_written(world: World) -> None:
    fake = world.fake
    erin = fake.user("Erin", *fake.members[world.bob["id"]])  # holds the agent role; never seen by the bot
    fake.say(world.alice, world.intake, "Can you move my workspace to the EU region?")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue)))[0]
    assigned = fake.slash(world.dana, world.queue, "ticket", "assign", ticket=1, agent=erin)
    await eventually(lambda: assigned.followups, what="the answer")
    assert assigned.texts == ["#1 is now assigned to Erin."]
    await eventually(lambda: fields(fake.messages[card["id"]])["Assignee"] == "Erin", what="the card")


async def test_commands_in_a_dm_apply_to_that_dms_ticket(world: World) -> None:
    fake = world.fake
    dm = fake.dm_channel(world.carol)
    fake.say(world.carol, dm, "Please cancel my subscription")
    await eventually(lambda: find(fake, dm, "we've opened ticket #1"))
    closed = fake.slash(world.carol, dm, "ticket", "close", reason="found the setting myself")
    await eventually(lambda: closed.followups, what="the answer")
    assert closed.followups[0]["flags"] & EPHEMERAL
    await eventually(lambda: find(fake, dm, "#1 is now closed"), what="closed in the DM")


async def test_without_permission_for_private_threads_the_ticket_still_opens(fake: FakeDiscord, tmp_path: Path) -> None:
    async with running_world(fake, tmp_path / "desk.db", thread_mode="private") as world:
        fake.fail_next(
            "POST", rf"/channels/{world.intake}/threads", 403, {"message": "Missing Permissions", "code": 50013}
        )
        asked = fake.say(world.alice, world.intake, "Two invoices for one month")
        await eventually(lambda: find(fake, asked, "we've opened ticket #1"), what="a public thread instead")
        assert fake.channels[asked]["type"] == 11
