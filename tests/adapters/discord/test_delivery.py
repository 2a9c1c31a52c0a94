"""Outbound Discord: rate limits, nonces, refusals, long text — through discord.py against the fake."""

from __future__ import annotations

import asyncio

import pytest
from discord.http import Route

from adapters.discord.platform import NO_PINGS
from bot.outbound import Message
from bot.ports import DeliveryRefused, RetryLater
from tests.adapters.discord.conftest import World
from tests.adapters.discord.people import contents
from tests.fakes.discord_api import eventually


async def test_a_429_with_retry_after_delays_the_post_but_posts_it_once(world: World) -> None:
    fake = world.fake
    fake.fail_next(
        "POST",
        rf"/channels/{world.queue}/messages",
        429,
        {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
    )
    asked = fake.say(world.alice, world.intake, "My export is stuck at 99%")
    card = await eventually(lambda: fake.bot_messages_in(world.queue), what="the card after the 429")
    posts = fake.calls_to("POST", rf"/channels/{world.queue}/messages")
    assert [c.status for c in posts] == [429, 200]
    assert len(card) == 1 and card[0]["embeds"][0]["title"] == "#1 · My export is stuck at 99%"
    assert len(await eventually(lambda: fake.bot_messages_in(asked))) == 1


async def test_a_long_rate_limit_goes_back_to_the_outbox(world: World) -> None:
    fake = world.fake
    fake.fail_next("POST", rf"/channels/{world.leads}/messages", 429, {"message": "slow down", "retry_after": 120.0})
    with pytest.raises(RetryLater) as caught:
        await world.adapter.platform.post_message(world.leads, Message(text="hello"), nonce="n-1")
    assert caught.value.retry_after == 120.0
    assert fake.bot_messages_in(world.leads) == []


async def test_a_retry_with_the_same_nonce_cannot_post_twice(world: World) -> None:
    platform = world.adapter.platform
    first = await platform.post_message(world.leads, Message(text="Escalated #7"), nonce="td-7-0")
    again = await platform.post_message(world.leads, Message(text="Escalated #7"), nonce="td-7-0")
    assert first == again
    assert contents(world.fake, world.leads) == ["Escalated #7"]
    sent = world.fake.calls_to("POST", rf"/channels/{world.leads}/messages")
    assert all(c.body["nonce"] == "td-7-0" and c.body["enforce_nonce"] is True for c in sent)


async def test_relayed_mentions_never_ping(world: World) -> None:
    fake = world.fake
    asked = fake.say(world.alice, world.intake, "@everyone @here <@&123> look at this")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue)))[0]
    await eventually(lambda: fake.bot_messages_in(asked))
    fake.press(world.bob, card["id"], "Claim")
    fake.slash(world.bob, world.queue, "ticket", "reply", ticket=1, text="@everyone hi <@" + world.dana["id"] + ">")
    relayed = await eventually(lambda: [m for m in fake.bot_messages_in(asked) if m["content"].startswith("Bob:")])
    assert "@everyone" not in relayed[0]["content"] and "@\u200beveryone" in relayed[0]["content"]
    assert all(m["allowed_mentions"] == NO_PINGS for m in fake.messages.values() if "allowed_mentions" in m)
    assert all(m["mentions"] == [] and not m["mention_everyone"] for m in fake.bot_messages_in(asked))


async def test_text_over_2000_characters_is_split(world: World) -> None:
    text = ("word " * 900).strip()  # 4,499 characters
    await world.adapter.platform.post_message(world.leads, Message(text=text), nonce="long-1")
    parts = contents(world.fake, world.leads)
    assert len(parts) == 3 and all(len(p) <= 2000 for p in parts)
    assert " ".join(parts) == text
    nonces = [c.body["nonce"] for c in world.fake.calls_to("POST", rf"/channels/{world.leads}/messages")]
    assert nonces == ["long-1", "long-1.1", "long-1.2"]


async def test_refusals_say_what_to_fix(world: World) -> None:
    fake, platform = world.fake, world.adapter.platform
    fake.fail_next("POST", rf"/channels/{world.leads}/messages", 403, {"message": "Missing Permissions", "code": 50013})
    with pytest.raises(DeliveryRefused, match="Send Messages"):
        await platform.post_message(world.leads, Message(text="x"))
    with pytest.raises(DeliveryRefused, match=r"check the channel ids in \[discord\]"):
        await platform.post_message("999", Message(text="x"))
    fake.fail_next("POST", rf"/channels/{world.leads}/messages", 503, {"message": "upstream"})
    with pytest.raises(RetryLater):
        await platform.post_message(world.leads, Message(text="x"))


async def test_a_post_waiting_for_the_bot_to_start_goes_to_the_configured_server(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a crash the outbox holds posts, and the delivery worker hands them over before the bot has
    started: they wait for it, then go to `[discord] api_base_url` — not to discord.py's default, the URL a
    new process starts with (they failed once as "Discord unreachable" and waited a retry)."""
    await world.close()
    monkeypatch.setattr(Route, "BASE", "http://127.0.0.1:9/api/v10")  # as in a new process: not the configured one
    await world.rebuild()
    waiting = asyncio.create_task(
        world.adapter.platform.post_message(world.leads, Message(text="Sent after the crash"))
    )
    await asyncio.sleep(0)  # it waits for the bot
    assert not waiting.done()
    await world.start()
    await waiting
    assert contents(world.fake, world.leads) == ["Sent after the crash"]
