"""Teams on Discord through the real discord.py client and the local fake: a team whose members are the people
holding a role (listed at start with the Server Members Intent, else learned as they act), automatic
assignment told to the assignee in a DM with a link button to the card, `/agent away|back`, `/team list|show`
and `/ticket-transfer`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.config import DiscordConfig
from adapters.registry import AdapterStartupError
from bot.config import settings_from_dict
from tests.adapters.discord.conftest import World, running_world
from tests.adapters.discord.people import buttons, contents, fields, find
from tests.fakes.discord_api import TOKEN, FakeDiscord, eventually


def teams(tier1: str, grace: dict[str, Any], eng_queue: str) -> dict[str, Any]:
    return {
        "teams": [
            {
                "name": "support",
                "members": [f"discord:role:{tier1}"],
                "categories": ["general"],
                "assignment": "round_robin",
                "escalate_to": "engineering",
            },
            {
                "name": "engineering",
                "members": [f"discord:{grace['id']}"],
                "queue_channel": eng_queue,
                "assignment": "least_loaded",
            },
        ]
    }


def dm_notes(world: World, person: dict[str, Any]) -> list[dict[str, Any]]:
    return world.fake.bot_messages_in(world.fake.dm_channel(person))


def link_button(message: dict[str, Any]) -> tuple[str, str]:
    [link] = [c for row in message["components"] for c in row["components"] if c["type"] == 2 and c["style"] == 5]
    return link["label"], link["url"]


async def test_a_role_team_hands_out_tickets_and_tells_each_assignee_in_a_dm(tmp_path: Path) -> None:
    fake = await FakeDiscord(members_intent=True).start()
    try:
        tier1 = fake.role("Tier 1")
        erin, frank = fake.user("Erin", tier1), fake.user("Frank", tier1)  # never write before their first ticket
        grace, eng_queue = fake.user("Grace"), fake.text_channel("engineering-queue")
        async with running_world(fake, tmp_path / "desk.db", settings=teams(tier1, grace, eng_queue)) as world:
            await _role_team_journey(world, erin, frank, grace, eng_queue)
    finally:
        await fake.stop()


async def _role_team_journey(
    world: World, erin: dict[str, Any], frank: dict[str, Any], grace: dict[str, Any], eng_queue: str
) -> None:
    fake = world.fake
    tier1 = f"role:{fake.members[erin['id']][0]}"
    await eventually(lambda: world.adapter.roles.members_of(tier1) == [erin["id"], frank["id"]], what="the listing")
    assert fake.calls_to("GET", rf"/guilds/{fake.guild_id}/members")

    asked = fake.say(world.alice, world.intake, "The export to CSV is empty")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue), what="the card"))[0]
    await eventually(lambda: dm_notes(world, erin), what="Erin's DM")
    card = fake.messages[card["id"]]
    assert (fields(card)["Assignee"], fields(card)["Team"]) == ("Erin", "support")
    await eventually(lambda: find(fake, asked, "Erin is looking at this."), what="the customer told")
    [note] = dm_notes(world, erin)
    assert note["content"] == "#1 is yours, Erin (round-robin, team support): The export to CSV is empty"
    url = f"https://discord.com/channels/{fake.guild_id}/{world.queue}/{card['id']}"
    assert link_button(note) == ("Open the card of #1", url)
    assert buttons(note) == ["Open the card of #1", "Show"]
    assert not [m for m in fake.bot_messages_in(card["id"]) if "is yours" in m["content"]], "no ping in the card"

    # Frank, who has never written, is named from the listing and gets the next one
    fake.say(world.carol, world.intake, "Where do I download my invoices?")
    [frank_note] = await eventually(lambda: dm_notes(world, frank), what="Frank's DM")
    assert frank_note["content"] == "#2 is yours, Frank (round-robin, team support): Where do I download my invoices?"

    # Frank goes away and hands his ticket back: it goes to Erin
    away = fake.slash(frank, world.queue, "agent", "away", until="2h")
    await eventually(lambda: away.followups, what="the answer")
    assert away.texts[0].startswith("You're away until ")
    assert "You still have 1 open (#2) — hand them back to the queue with `/agent away --handover`." in away.texts[0]
    answer = fake.messages[next(m["id"] for m in fake.messages.values() if m.get("content") == away.texts[0])]
    handed = fake.press(frank, answer["id"], "Hand them back")
    await eventually(lambda: handed.followups, what="the hand-back")
    assert handed.texts[0].endswith("Your tickets went back to the queue: #2 → Erin.")
    await eventually(lambda: len(dm_notes(world, erin)) == 2, what="Erin told about #2")

    shown = fake.slash(world.dana, world.queue, "team", "show", name="support")
    listed = fake.slash(world.dana, world.queue, "team", "list")
    await eventually(lambda: shown.followups and listed.followups, what="the lead's answers")
    assert shown.texts[0].splitlines()[-3:] == [
        "Members:",
        "  Erin: available · 2 open · got the last ticket",
        f"  Frank: away until {shown.texts[0].split('Frank: away until ')[1].split(' · ')[0]} · 0 open",
    ]
    assert listed.texts[0].splitlines()[1:] == [
        "• support — round_robin, 2 member(s), 1 available · 2 open, 0 unassigned · escalates to engineering",
        "• engineering — least_loaded, 1 member(s), 1 available · 0 open, 0 unassigned",
    ]

    # Erin moves #1 to engineering: a note in the old card's thread, a new card in its queue, Grace told
    moved = fake.slash(erin, world.queue, "ticket", "transfer", ticket=1, team="engineering", reason="A bug")
    await eventually(lambda: moved.followups, what="the move")
    assert moved.texts == ["#1 moved to team engineering, assigned to Grace."]
    await eventually(lambda: "#1: moved to team engineering by Erin: A bug" in contents(fake, card["id"]))
    [new_card] = await eventually(lambda: fake.bot_messages_in(eng_queue), what="the new card")
    [grace_note] = await eventually(lambda: dm_notes(world, grace), what="Grace's DM")
    assert grace_note["content"].startswith("#1 is yours, Grace (least-loaded, team engineering): ")
    assert link_button(grace_note)[1] == f"https://discord.com/channels/{fake.guild_id}/{eng_queue}/{new_card['id']}"

    back = fake.slash(frank, world.queue, "agent", "back")
    await eventually(lambda: back.followups, what="the answer")
    assert back.texts == ["Welcome back: new tickets can come to you."]


async def test_without_the_members_intent_a_roles_people_count_once_they_act(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tier1 = fake.role("Tier 1")
    erin = fake.user("Erin", tier1)
    grace, eng_queue = fake.user("Grace"), fake.text_channel("engineering-queue")
    caplog.set_level(logging.WARNING, logger="adapters.discord")
    async with running_world(fake, tmp_path / "desk.db", settings=teams(tier1, grace, eng_queue)) as world:
        await eventually(lambda: "Server Members Intent" in caplog.text, what="the warning")
        asked = fake.say(world.alice, world.intake, "The export to CSV is empty")
        await eventually(lambda: fake.bot_messages_in(world.leads), what="the leads told")
        assert contents(fake, world.leads)[0].startswith(
            "⚠ Nobody in team support can take new tickets: it has no members on this platform. #1 and the next"
        )
        back = fake.slash(erin, world.queue, "agent", "back")  # Erin acts: her roles arrive with the command
        await eventually(lambda: back.followups, what="the answer")
        assert back.texts == ["You're available: new tickets can come to you. Assigned meanwhile: #1 → Erin."]
        await eventually(lambda: find(fake, asked, "Erin is looking at this."), what="the customer told")
        [note] = await eventually(lambda: dm_notes(world, erin), what="Erin's DM")
        assert note["content"].startswith("#1 is yours, Erin (round-robin, team support): ")


async def test_a_dm_the_assignee_refuses_fails_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake = await FakeDiscord(members_intent=True).start()
    try:
        tier1 = fake.role("Tier 1")
        erin = fake.user("Erin", tier1)
        fake.no_dms.add(erin["id"])  # her privacy settings refuse DMs from the server's members
        grace, eng_queue = fake.user("Grace"), fake.text_channel("engineering-queue")
        async with running_world(fake, tmp_path / "desk.db", settings=teams(tier1, grace, eng_queue)) as world:
            await eventually(lambda: world.adapter.roles.members_of(f"role:{tier1}"), what="the listing")
            asked = fake.say(world.alice, world.intake, "The export to CSV is empty")
            await eventually(lambda: "not delivered" in caplog.text, what="the refusal logged")
            assert "the person accepts no direct messages from this server's members" in caplog.text
            assert dm_notes(world, erin) == []
            await eventually(lambda: find(fake, asked, "Erin is looking at this."), what="the customer told")
            fake.say(world.alice, asked, "Any news?")  # what follows the note is still delivered
            card = fake.bot_messages_in(world.queue)[0]
            await eventually(lambda: find(fake, card["id"], "Any news?"), what="the relay in the card's thread")
            assert fields(fake.messages[card["id"]])["Assignee"] == "Erin"
            # instead of the DM: one line in the card's thread, saying why in plain words, pinging nobody
            [instead] = [m for m in fake.bot_messages_in(card["id"]) if "couldn't DM" in m["content"]]
            assert instead["content"] == (
                "#1: assigned to Erin — I couldn't DM them: they accept no direct messages from this server's "
                "members (Discord's privacy settings)."
            )
            assert instead["allowed_mentions"] == {"parse": []} and "<@" not in instead["content"]
    finally:
        await fake.stop()


def test_a_team_member_discord_cannot_have_is_refused_at_start() -> None:
    raw = {"enabled": True, "guild_id": "1", "api_base_url": "http://127.0.0.1:9/api/v10"}
    settings = settings_from_dict(
        {"discord": raw, "teams": [{"name": "support", "members": ["discord:group:42"]}]}, {"discord": DiscordConfig}
    )
    config = settings.adapters["discord"]
    assert isinstance(config, DiscordConfig)
    with pytest.raises(AdapterStartupError) as caught:
        DiscordAdapter(config, TOKEN, teams=settings.teams)
    assert str(caught.value).startswith(
        "[[teams]] support: members 'discord:group:42' — Discord has roles, written 'discord:role:123456789012345678'"
    )
