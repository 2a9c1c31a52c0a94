"""Staff-only surfaces on Discord: customers are refused at the card before any form opens, and the role
check stays on the server side; options discord.py cannot match are read by the desk's own parser."""

from __future__ import annotations

from tests.adapters.discord.conftest import World
from tests.adapters.discord.people import find
from tests.fakes.discord_api import EPHEMERAL, eventually


async def test_a_customer_pressing_reply_or_resolve_on_a_card_is_refused_before_the_form(world: World) -> None:
    fake = world.fake
    asked = fake.say(world.alice, world.intake, "My invoice shows the wrong VAT number")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue), what="the card"))[0]
    for label, command in (("Reply", "/ticket reply"), ("Resolve", "/ticket-resolve")):
        pressed = fake.press(world.alice, card["id"], label)
        await eventually(lambda p=pressed: p.callbacks, what="the refusal")  # type: ignore[misc]
        assert pressed.modal is None
        assert pressed.texts == [
            f"✗ Only agents can use `{command}` from a ticket card. You are signed in as a customer."
        ]
        assert pressed.callbacks[0]["data"]["flags"] & EPHEMERAL
    opened = fake.press(world.bob, card["id"], "Reply")  # an agent gets the form
    await eventually(lambda: opened.modal, what="the form")
    # the staff command run directly by a customer (an admin may have shown it to everyone): still refused
    direct = fake.slash(world.alice, world.intake, "ticket", "resolve", ticket=1, summary="fixed it myself")
    await eventually(lambda: direct.followups)
    assert direct.texts == ["✗ Only agents can use `/ticket-resolve`. You are signed in as a customer."]
    assert find(fake, asked, "is resolved") is None
    helped = fake.slash(world.bob, world.queue, "ticket", "help")  # help names the commands Discord shows
    await eventually(lambda: helped.followups)
    assert "• `/ticket-claim [N]` — assign a ticket to yourself" in helped.texts[0]
    assert "• `/ticket reply [N] <text>`" in helped.texts[0]


async def test_options_discord_py_cannot_match_are_answered_by_the_desk(world: World) -> None:
    fake = world.fake
    fake.say(world.alice, world.intake, "Password reset link expired")
    await eventually(lambda: fake.bot_messages_in(world.queue), what="the card")
    # a Discord client that still shows the old `/ticket claim` subcommand (before staff commands moved)
    stale = fake.interact(
        world.bob,
        world.queue,
        {
            "id": fake.new_id(),
            "name": "ticket",
            "type": 1,
            "options": [{"type": 1, "name": "claim", "options": [{"type": 4, "name": "ticket", "value": 1}]}],
        },
    )
    await eventually(lambda: stale.followups, what="the claim")
    assert stale.texts[0].startswith("You claimed #1")
    # a required option missing, and a ticket number that is not one: what was wrong, not an apology
    missing = fake.interact(
        world.bob,
        world.queue,
        {"id": fake.new_id(), "name": "ticket", "type": 1, "options": [{"type": 1, "name": "reply", "options": []}]},
    )
    await eventually(lambda: missing.followups, what="the answer")
    wrong = fake.slash(world.bob, world.queue, "ticket", "show", ticket="abc")
    await eventually(lambda: wrong.followups, what="the answer")
    assert missing.texts == ["✗ Missing text. Usage: `/ticket reply [N] <text>`"]
    assert wrong.texts == ["✗ `/ticket show [N]` takes no extra words (got “abc”)."]
