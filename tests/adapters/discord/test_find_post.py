"""A post whose answer was lost (the process died, the connection dropped) is looked for before it is posted
again. Discord refuses a second post with the same nonce for a few minutes only, and history never shows a
nonce: a retry after a longer outage reads everything posted in the channel since the attempt began, page after
page, and knows the bot's own post by what it shows. Discord's clock, the desk's and the adapter's are one fake
clock here, moved on instead of waited for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.platform import HISTORY_PAGE
from bot.outbound import Destination, DestinationKind, Message
from bot.ports import PostLookup, RetryLater
from tests.adapters.discord.conftest import World, running_world
from tests.adapters.discord.people import contents, fields
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.patience import until
from tests.fakes.sql import sql

OTHERS = 250  # the bot's posts before the unknown card, and again after it: more than two pages each
OUTAGE = 10  # minutes down: far past Discord's nonce window


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
async def world(fake: FakeDiscord, db_path: Path, clock: FakeClock) -> AsyncIterator[World]:
    fake.now = clock.now  # Discord's clock agrees with the desk's
    async with running_world(fake, db_path, clock=clock) as w:
        w.adapter.discord.clock = clock
        yield w


async def _later(world: World, clock: FakeClock, **delta: float) -> None:
    """Move the clock on, and wake the delivery worker as any commit does: it sleeps until the next retry is
    due by the real clock."""
    clock.advance(**delta)
    async with world.db.transaction():
        pass


def _cards(world: World) -> list[dict[str, Any]]:
    """The queue cards in the channel, as people see them (the others are `other N`)."""
    return [m for m in world.fake.bot_messages_in(world.queue) if not m["content"].startswith("other ")]


def _unknown(world: World, error: str = "") -> int:
    """Outbox rows whose last attempt ended with its outcome unknown (`error` in what it ended with), waiting
    for their next attempt."""
    [(count,)] = sql(
        world.db,
        "SELECT COUNT(*) FROM outbox WHERE state='pending' AND sending_since IS NOT NULL AND last_error LIKE ?",
        (f"%{error}%",),
    )
    return int(count)


def _all_delivered(world: World) -> bool:
    return sql(world.db, "SELECT DISTINCT state FROM outbox") == [("delivered",)]


def _looks(world: World, channel: str) -> list[dict[str, str]]:
    """The queries of every read of `channel`'s history."""
    return [c.query for c in world.fake.calls_to("GET", rf"/channels/{channel}/messages")]


async def _others(world: World, start: int) -> None:
    for n in range(start, start + OTHERS):
        await world.adapter.platform.post_message(world.queue, Message(text=f"other {n}"), nonce=f"other-{n}")


async def _card_with_lost_answer(world: World, clock: FakeClock, *, taken: bool) -> None:
    """A new ticket whose card post got no answer (`taken`: Discord posted it), with `OTHERS` posts of the bot
    in the queue channel shortly before (within the margin for clock skew) and `OTHERS` after it, before the
    card's next attempt: the card is on neither the first nor the last page of what is read."""
    await _others(world, 0)
    world.fake.lose_answer_next("POST", rf"/channels/{world.queue}/messages", taken=taken)
    world.fake.say(world.alice, world.intake, "My export is stuck at 99%")
    await until(lambda: _unknown(world) == 1, "the card's attempt to end without an answer")
    assert len(_cards(world)) == (1 if taken else 0)
    await _others(world, OTHERS)


async def test_a_card_whose_answer_was_lost_is_found_behind_hundreds_of_newer_posts(
    world: World, clock: FakeClock
) -> None:
    await _card_with_lost_answer(world, clock, taken=True)
    await _later(world, clock, minutes=OUTAGE)
    await until(lambda: _all_delivered(world), "the card's retry")
    [card] = _cards(world)
    assert card["embeds"][0]["title"] == "#1 · My export is stuck at 99%"
    looks = _looks(world, world.queue)
    assert looks and all(q["after"] != "0" and q["limit"] == str(HISTORY_PAGE) for q in looks), "bounded by time"
    assert len(looks) == OTHERS // HISTORY_PAGE + 1, "read page after page, up to the card"
    [(delivered,)] = sql(world.db, "SELECT delivered_id FROM outbox WHERE destination LIKE '%\"card\"%'")
    assert delivered == card["id"], "the card found is the ticket's card"


async def test_a_card_that_never_arrived_is_posted_once(world: World, clock: FakeClock) -> None:
    await _card_with_lost_answer(world, clock, taken=False)
    await _later(world, clock, minutes=OUTAGE)
    await until(lambda: _all_delivered(world), "the card's retry")
    [card] = _cards(world)
    assert card["embeds"][0]["title"] == "#1 · My export is stuck at 99%"
    assert len(_looks(world, world.queue)) == 2 * OTHERS // HISTORY_PAGE + 1, "every page was read"


async def test_soon_after_the_attempt_the_nonce_is_trusted_and_nothing_is_read(world: World, clock: FakeClock) -> None:
    world.fake.lose_answer_next("POST", rf"/channels/{world.queue}/messages", taken=True)
    world.fake.say(world.alice, world.intake, "My export is stuck at 99%")
    await until(lambda: _unknown(world) == 1, "the card's attempt to end without an answer")
    await _later(world, clock, seconds=20)
    await until(lambda: _all_delivered(world), "the card's retry")
    assert len(_cards(world)) == 1, "Discord returned the card already posted with that nonce"
    assert _looks(world, world.queue) == []


async def test_a_card_changed_while_its_outcome_is_unknown_is_found_then_edited(world: World, clock: FakeClock) -> None:
    """Bob claims the ticket on the card that landed while its post's answer is unknown: the newer card does
    not replace the unknown post (it would no longer be recognised, and the card would be posted twice) but
    follows it as an edit."""
    await _card_with_lost_answer(world, clock, taken=True)
    [landed] = _cards(world)
    world.fake.press(world.bob, landed["id"], "Claim")
    await until(lambda: sql(world.db, "SELECT assignee_id FROM tickets") == [(world.bob["id"],)], "the claim")
    await _later(world, clock, minutes=OUTAGE)
    await until(lambda: _all_delivered(world), "the card's retry and its edit")
    [card] = _cards(world)
    assert card["id"] == landed["id"]
    assert fields(card)["Assignee"] == "Bob"


@pytest.mark.parametrize("trouble", ["429", "503"])
async def test_trouble_while_looking_leaves_the_outcome_unknown(world: World, clock: FakeClock, trouble: str) -> None:
    """A 429 (longer than discord.py waits out) or a 5xx while reading: the look is not done, so the card is
    neither posted again nor forgotten as unknown; the next attempt looks again and finds it."""
    await _card_with_lost_answer(world, clock, taken=True)
    status, body = (429, {"message": "You are being rate limited.", "retry_after": 120.0, "global": False})
    if trouble == "503":
        status, body = 503, {"message": "Service Unavailable", "code": 0}
    world.fake.fail_next("GET", rf"/channels/{world.queue}/messages", status, body)
    await _later(world, clock, minutes=OUTAGE)
    await until(lambda: _unknown(world, error="history") == 1, "the look to fail")
    assert len(_cards(world)) == 1
    await _later(world, clock, minutes=OUTAGE)
    await until(lambda: _all_delivered(world), "the card's retry")
    assert len(_cards(world)) == 1
    statuses = [c.status for c in world.fake.calls_to("GET", rf"/channels/{world.queue}/messages")]
    assert statuses[0] == status and set(statuses[1:]) == {200}


async def _lost_long_post(world: World, clock: FakeClock, text: str) -> None:
    """A post to the leads channel long enough for three parts, whose first part's answer never came."""
    world.fake.lose_answer_next("POST", rf"/channels/{world.leads}/messages", taken=True)
    destination = Destination(kind=DestinationKind.CHANNEL, platform="discord", channel=world.leads)
    async with world.db.transaction() as uow:
        await uow.outbox.enqueue(destination, Message(text=text), at=clock.now())
    await until(lambda: _unknown(world) == 1, "the first part's answer to be lost")


async def test_a_long_post_cut_short_gets_its_missing_parts_once(world: World, clock: FakeClock) -> None:
    text = ("word " * 900).strip()  # three parts
    await _lost_long_post(world, clock, text)
    assert len(contents(world.fake, world.leads)) == 1, "only the first part landed"
    await _later(world, clock, minutes=OUTAGE)
    await until(lambda: _all_delivered(world), "the retry")
    parts = contents(world.fake, world.leads)
    assert len(parts) == 3 and " ".join(parts) == text
    nonces = [c.body["nonce"] for c in world.fake.calls_to("POST", rf"/channels/{world.leads}/messages")]
    assert nonces[0] == nonces[1].rsplit(".", 1)[0] and nonces[1:] == [f"{nonces[0]}.1", f"{nonces[0]}.2"]


async def test_the_same_words_posted_just_before_by_another_row_are_not_taken_for_the_post(
    world: World, clock: FakeClock
) -> None:
    """The same text twice in a row to one channel, the second's answer lost before Discord took it: the first
    (delivered, so known to be another row's) is within the margin for clock skew and looks the same, but is
    not the second; the second is posted."""
    destination = Destination(kind=DestinationKind.CHANNEL, platform="discord", channel=world.leads)
    async with world.db.transaction() as uow:
        await uow.outbox.enqueue(destination, Message(text="Daily check: all quiet"), at=clock.now())
    await until(lambda: _all_delivered(world), "the first post")
    world.fake.lose_answer_next("POST", rf"/channels/{world.leads}/messages", taken=False)
    async with world.db.transaction() as uow:
        await uow.outbox.enqueue(destination, Message(text="Daily check: all quiet"), at=clock.now())
    await until(lambda: _unknown(world) == 1, "the second post's answer to be lost")
    await _later(world, clock, minutes=OUTAGE)
    await until(lambda: _all_delivered(world), "the second post's retry")
    assert contents(world.fake, world.leads) == ["Daily check: all quiet", "Daily check: all quiet"]
    assert _looks(world, world.leads), "it was looked for"


async def test_a_long_post_found_whole_is_not_added_to(world: World, clock: FakeClock) -> None:
    """Every part landed but the answer never came: the first part is the post, nothing more is posted; and
    nothing is found where the post is not (looking only after it)."""
    text = ("word " * 900).strip()
    platform, began = world.adapter.platform, clock.now()
    ref = await platform.post_message(world.leads, Message(text=text), nonce="td-9-0")
    clock.advance(minutes=OUTAGE)
    lookup = PostLookup(world.leads, "td-9-0", since=began, message=Message(text=text))
    assert await platform.find_post(lookup) == ref
    assert await platform.find_post(replace(lookup, since=clock.now())) is None
    assert len(contents(world.fake, world.leads)) == 3


async def test_the_fake_forgets_a_nonce_after_its_window(world: World, clock: FakeClock) -> None:
    """What makes the look necessary: past Discord's window the same nonce posts again, and history never
    shows a nonce (only the post's answer and its MESSAGE_CREATE carry it)."""
    platform = world.adapter.platform
    first = await platform.post_message(world.leads, Message(text="Escalated #7"), nonce="td-7-0")
    clock.advance(seconds=60)
    assert await platform.post_message(world.leads, Message(text="Escalated #7"), nonce="td-7-0") == first
    clock.advance(minutes=OUTAGE)
    assert await platform.post_message(world.leads, Message(text="Escalated #7"), nonce="td-7-0") != first
    assert contents(world.fake, world.leads) == ["Escalated #7", "Escalated #7"]
    assert world.adapter.bot is not None
    history = await world.adapter.bot.http.logs_from(world.leads, 10)
    assert len(history) == 2 and all("nonce" not in m for m in history)


async def test_a_part_refused_for_now_after_the_first_leaves_the_outcome_unknown(world: World) -> None:
    """A long rate limit on the second part: the first is posted, so the next attempt must look, not post."""
    fake = world.fake

    def after_the_first_part(event: str, data: dict[str, Any]) -> None:
        if event == "MESSAGE_CREATE" and data["channel_id"] == world.leads:
            fake.on_dispatch = None
            body = {"message": "You are being rate limited.", "retry_after": 120.0, "global": False}
            fake.fail_next("POST", rf"/channels/{world.leads}/messages", 429, body)

    fake.on_dispatch = after_the_first_part
    with pytest.raises(RetryLater) as caught:
        await world.adapter.platform.post_message(world.leads, Message(text=("word " * 900).strip()), nonce="td-5-0")
    assert caught.value.outcome_unknown and caught.value.rate_limited and caught.value.retry_after == 120.0
    assert len(contents(fake, world.leads)) == 1
