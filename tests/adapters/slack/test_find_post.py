"""A post whose outcome is unknown (Slack stored it, then answered 500; or the process died mid-send) is looked
for before it is posted again — among everything posted in the channel since that attempt began, page after
page, not just the latest messages: on a busy desk hundreds of cards can land in the queue channel before the
unknown one is looked at again."""

from __future__ import annotations

import pytest

from bot.outbound import Message
from tests.adapters.slack.harness import SlackDriver, payload
from tests.fakes.slack_api import Failure, Posted
from tests.fakes.sql import sql

OTHERS = 250  # posted after the unknown card, before its next attempt: more than a page of history


def _cards(driver: SlackDriver) -> list[Posted]:
    """The queue cards in the channel, as people see them (the others are `other N`)."""
    return [p for p in driver.api.top_level("CQUEUE") if not p.text.startswith("other ")]


async def _card_sent_with_unknown_outcome(driver: SlackDriver, *, stored: bool) -> None:
    """A ticket whose card's post failed with 500 (`stored`: Slack kept it anyway), then `OTHERS` posts by
    other senders in the queue channel before the card's next attempt."""
    api, clock = driver.api, driver.worker.clock
    api.now = lambda: clock.now().timestamp()  # Slack's clock agrees with the desk's
    api.fail_next("chat.postMessage", Failure(status=500, channel="CQUEUE", stored=stored))
    await driver.event(payload("message_im"))
    await driver.settle()
    store = driver.desk.ctx.store
    assert sql(store, "SELECT COUNT(*) FROM outbox WHERE state != 'delivered' AND sending_since IS NOT NULL") == [
        (1,)
    ], "the card's outcome is unknown"
    assert len(_cards(driver)) == (1 if stored else 0)
    for n in range(OTHERS):
        await driver.adapter.platform.post_message("CQUEUE", Message(text=f"other {n}"), nonce=f"other-{n}")


async def _retry(driver: SlackDriver) -> None:
    for _ in range(3):
        driver.worker.clock.advance(seconds=70)  # type: ignore[attr-defined]
        await driver.settle()
    assert sql(driver.desk.ctx.store, "SELECT DISTINCT state FROM outbox") == [("delivered",)]


async def test_a_card_slack_stored_is_found_behind_hundreds_of_newer_posts(driver: SlackDriver) -> None:
    await _card_sent_with_unknown_outcome(driver, stored=True)
    await _retry(driver)
    [card] = _cards(driver)
    assert "#1" in card.text
    looks = driver.api.calls_to("conversations.history")
    assert looks and all(c.params.get("oldest") for c in looks), "bounded by time"
    assert any(c.params.get("cursor") for c in looks), "the card was found on a later page"


async def test_a_card_that_never_arrived_is_posted_once(driver: SlackDriver) -> None:
    await _card_sent_with_unknown_outcome(driver, stored=False)
    await _retry(driver)
    [card] = _cards(driver)
    assert "#1" in card.text
    assert any(c.params.get("cursor") for c in driver.api.calls_to("conversations.history")), "read every page"


async def test_rate_limited_while_looking_the_outcome_stays_unknown(driver: SlackDriver) -> None:
    """A 429 (or Slack's own transient error) while looking: the look is not done, so the card is neither
    posted again nor forgotten as unknown; the next attempt, after Retry-After, looks again and finds it."""
    await _card_sent_with_unknown_outcome(driver, stored=True)
    api = driver.api
    api.fail_next("conversations.history", Failure(status=429, retry_after=1), Failure(error="internal_error"))
    for _ in range(2):
        driver.worker.clock.advance(seconds=70)  # type: ignore[attr-defined]
        await driver.settle()
        assert sql(driver.desk.ctx.store, "SELECT COUNT(*) FROM outbox WHERE sending_since IS NOT NULL") == [(1,)]
        assert len(_cards(driver)) == 1
    assert len(api.calls_to("conversations.history")) == 2 and not api.failures["conversations.history"]
    await _retry(driver)
    [card] = _cards(driver)
    assert "#1" in card.text


@pytest.mark.parametrize("thread", [False, True])
async def test_the_fake_pages_history_and_replies_by_time_like_slack(driver: SlackDriver, thread: bool) -> None:
    """The look relies on `oldest` + `inclusive` and cursor paging; the fake answers them as Slack does."""
    platform = driver.adapter.platform
    root = await platform.post_message("CQUEUE", Message(text="root"))
    where = root.id if thread else None
    refs = [
        await platform.post_message("CQUEUE", Message(text=f"other {n}"), thread=where, nonce=f"n{n}") for n in range(5)
    ]
    method = driver.api._conversations_replies if thread else driver.api._conversations_history
    base = {"channel": "CQUEUE", "ts": root.id} if thread else {"channel": "CQUEUE"}
    seen: list[str] = []
    cursor = ""
    while True:
        page = method({**base, "oldest": refs[1].id, "inclusive": "true", "limit": "2", "cursor": cursor})
        seen += [m["ts"] for m in page["messages"] if m["ts"] != root.id]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    expected = [r.id for r in refs[1:]]
    assert seen == (expected if thread else expected[::-1])
    exclusive = method({**base, "oldest": refs[1].id, "latest": refs[4].id})
    assert [m["ts"] for m in exclusive["messages"] if m["ts"] != root.id] == [
        r.id for r in (refs[2:4] if thread else refs[3:1:-1])
    ]
