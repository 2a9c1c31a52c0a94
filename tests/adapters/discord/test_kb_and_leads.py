"""The self-service buttons, KB authoring, the digest with its chart and SLA pings — on Discord."""

from __future__ import annotations

from pathlib import Path

from bot.domain.refs import UserRef
from bot.outbound import Message
from tests.adapters.discord.conftest import World
from tests.adapters.discord.people import buttons
from tests.fakes.discord_api import eventually


async def test_this_solved_it_resolves_the_ticket_as_self_served(world: World) -> None:
    fake, alice = world.fake, world.alice
    asked = fake.say(alice, world.intake, "I never received the password reset email")
    ack = (await eventually(lambda: fake.bot_messages_in(asked), what="the acknowledgement"))[0]
    labels = buttons(ack)
    assert labels[0] == "This solved it: Can't log in or forgot your password" and labels[-1] == "Not what I need"

    pressed = fake.press(alice, ack["id"], labels[0])
    await eventually(lambda: pressed.texts, what="the answer")
    assert pressed.texts == ["#1 is resolved — thanks for letting us know!"]
    told = await eventually(
        lambda: [m for m in fake.bot_messages_in(asked) if m["content"].startswith("Great — glad")], what="thanks"
    )
    assert "#1 is resolved" in told[0]["content"]
    ticket = await world.desk.ticket(1)
    assert ticket is not None and ticket.resolved_by_kb == "reset-password"


async def test_agents_write_articles_with_app_commands(world: World) -> None:
    fake, bob = world.fake, world.bob
    added = fake.slash(
        bob,
        world.queue,
        "kb",
        "add",
        title="Redeem a gift card",
        aliases="redeem my gift card; gift code",
        body="Billing → Redeem.",
    )
    await eventually(lambda: added.texts, what="the answer")
    assert added.texts[0].startswith("Added article `redeem-a-gift-card`: Redeem a gift card (2 alias(es)).")
    edited = fake.slash(
        bob, world.queue, "kb", "edit", article="redeem-a-gift-card", part="tags", value="billing, gifts"
    )
    await eventually(lambda: edited.texts, what="the answer")
    assert edited.texts == ["Updated the tags of `redeem-a-gift-card` (version 2)."]
    found = fake.slash(world.alice, world.intake, "kb", "search", text="how do I redeem a gift code")
    await eventually(lambda: found.texts, what="the answer")
    assert "Redeem a gift card [redeem-a-gift-card]" in found.texts[0]


async def test_digest_now_attaches_the_chart_and_sla_alerts_ping_only_who_they_name(
    world: World, tmp_path: Path
) -> None:
    fake = world.fake
    world.desk.ctx.charts_dir = tmp_path
    refused = fake.slash(world.bob, world.queue, "digest", "now")
    await eventually(lambda: refused.texts, what="the refusal")
    assert refused.texts == ["✗ Only team leads can use `/digest now`. You are signed in as an agent."]
    done = fake.slash(world.dana, world.queue, "digest", "now")
    await eventually(lambda: done.texts, what="the answer")
    posted = await eventually(lambda: fake.bot_messages_in(world.leads), what="the digest")
    digest = posted[-1]
    assert "Queue digest" in digest["content"]
    [chart] = digest["attachments"]
    assert chart["filename"].endswith(".png") and fake.files[chart["id"]].startswith(b"\x89PNG")

    bob = UserRef(platform="discord", id=world.bob["id"], name="Bob")
    alert = Message(text="#1 first response target missed — Bob @everyone", mentions=(bob,))
    await world.adapter.platform.post_message(world.leads, alert)
    sent = fake.bot_messages_in(world.leads)[-1]
    assert sent["content"].startswith(f"<@{world.bob['id']}> #1 first response target missed")
    assert sent["allowed_mentions"] == {"parse": [], "users": [world.bob["id"]]}
