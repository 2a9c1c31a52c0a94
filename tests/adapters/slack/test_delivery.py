"""Re-deliveries, signatures, rate limits and escaping, through bolt's HTTP endpoint and the fake Web API."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.records import TicketQuery
from tests.adapters.slack.harness import SlackDriver, payload
from tests.fakes.slack_api import Failure
from tests.fakes.sql import sql

DM_TS = "1699990000.000100"


async def _ticket_count(driver: SlackDriver) -> int:
    async with driver.desk.ctx.store.reading() as uow:
        return len(await uow.tickets.list_tickets(TicketQuery(limit=100)))


async def test_a_redelivered_event_changes_nothing(driver: SlackDriver) -> None:
    event = payload("message_im")
    assert await driver.event(event) == 200
    assert await driver.event(event, retry=1) == 200  # X-Slack-Retry-Num: 1, same event_id
    assert await driver.event(event, retry=2) == 200
    await driver.settle()
    assert await _ticket_count(driver) == 1
    assert len(driver.api.in_thread("DALICE", DM_TS)) == 1
    assert len(driver.api.top_level("CQUEUE")) == 1


async def test_message_and_app_mention_of_one_message_open_one_ticket(driver: SlackDriver) -> None:
    mention = payload("app_mention", channel="CSUPPORT")
    as_message = payload("app_mention", type="message", channel="CSUPPORT", channel_type="channel")
    as_message["event_id"] = "Ev0AAAAAAA99"
    await driver.event(as_message)
    await driver.event(mention)
    await driver.settle()
    assert await _ticket_count(driver) == 1
    [ack] = driver.api.in_thread("CSUPPORT", "1699990200.000300")
    assert "Thanks, Carol — we've opened ticket #1" in ack.text


async def test_bad_signature_or_stale_timestamp_is_rejected_and_creates_nothing(driver: SlackDriver) -> None:
    assert await driver.event(payload("message_im"), secret="not-the-secret") == 401
    assert await driver.event(payload("message_im"), age=10 * 60) == 401
    status, _ = await driver.post(json.dumps(payload("message_im")), "application/json")
    assert status == 200  # the same request, correctly signed, is accepted
    await driver.settle()
    assert await _ticket_count(driver) == 1


async def test_garbage_bodies_and_headers_are_refused_before_bolt_reads_them(
    driver: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{driver.base}/slack/events"
    garbage = b"\xff\xfe payload=\x80\x81"
    for headers in (
        {},  # no signature at all
        {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "\u00e9t\u00e9"},
    ):
        async with driver.session.post(url, data=garbage, headers=headers) as response:
            assert response.status == 401, headers
    timestamp = str(int(driver.now()))
    digest = hmac.new(driver.secret.encode(), f"v0:{timestamp}:".encode() + garbage, hashlib.sha256).hexdigest()
    signed = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}
    async with driver.session.post(url, data=garbage, headers=signed) as response:
        assert response.status == 400
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
    assert await _ticket_count(driver) == 0


async def test_429_then_success_delivers_exactly_once_and_in_order(driver: SlackDriver) -> None:
    api = driver.api
    api.fail_next("chat.postMessage", Failure(status=429, retry_after=7, channel="DALICE"))
    await driver.event(payload("message_im"))
    await driver.settle()
    assert api.in_thread("DALICE", DM_TS) == [], "rate limited: nothing posted yet"
    # Bob claims while the acknowledgement waits: his notice must come after it
    await driver.command("UBOB", "claim 1")
    await driver.settle()
    assert api.in_thread("DALICE", DM_TS) == []
    driver.worker.clock.advance(seconds=6)  # type: ignore[attr-defined]
    await driver.settle()
    assert api.in_thread("DALICE", DM_TS) == [], "Retry-After is honoured"
    driver.worker.clock.advance(seconds=1.5)  # type: ignore[attr-defined]
    await driver.settle()
    texts = api.texts("DALICE", DM_TS)
    assert len(texts) == 2 and texts[0].startswith("Thanks, Alice") and texts[1] == "Bob is looking at this."
    attempts = [c for c in api.calls_to("chat.postMessage") if c.params["channel"] == "DALICE"]
    assert len(attempts) == 3  # one refused with 429, then each post exactly once


async def test_a_429_storm_and_5xx_delay_but_lose_nothing(driver: SlackDriver) -> None:
    api = driver.api
    api.fail_next(
        "chat.postMessage",
        *[Failure(status=429, retry_after=2, channel="DALICE") for _ in range(4)],
        Failure(status=503, channel="DALICE"),
        Failure(status=502, channel="DALICE"),
    )
    await driver.event(payload("message_im"))
    for _ in range(8):
        await driver.settle()
        driver.worker.clock.advance(seconds=70)  # type: ignore[attr-defined]
    await driver.settle()
    [ack] = api.in_thread("DALICE", DM_TS)
    assert "ticket #1" in ack.text


async def test_a_permanent_error_is_marked_failed_with_a_hint(driver: SlackDriver) -> None:
    driver.api.fail_next("chat.postMessage", Failure(error="not_in_channel", channel="CQUEUE"))
    await driver.event(payload("message_im"))
    await driver.settle()
    assert driver.api.top_level("CQUEUE") == []
    [row] = sql(driver.desk.ctx.store, "SELECT state, last_error FROM outbox WHERE ordering_key = 'card:slack:1'")
    assert row is not None and row[0] == "failed" and "invite the bot" in row[1]


async def test_customer_text_cannot_ping(driver: SlackDriver) -> None:
    text = "<!channel> <!here> <@UDANA> help! Fees & charges <b>doubled</b>"
    await driver.event(payload("message_im", text=text))
    await driver.event(driver.message_event("UALICE", "DALICE", "1699990001.000001", text, thread_ts=DM_TS))
    await driver.settle()
    shown = json.dumps([c.params for c in driver.api.calls if c.method.startswith("chat.")], ensure_ascii=False)
    for ping in ("<!channel>", "<!here>", "<@UDANA>"):
        assert ping not in shown
    mrkdwn = [c.params["text"] for c in driver.api.calls if c.method.startswith("chat.")]
    mrkdwn += [o["text"] for p in driver.api.posted for o in _mrkdwn_objects(p.blocks)]
    assert mrkdwn and not any("<b>" in t or " & " in t for t in mrkdwn), "mrkdwn text is escaped"
    [card] = driver.api.top_level("CQUEUE")
    relayed = driver.api.texts("CQUEUE", card.ts)[-1]
    assert relayed == (
        "Alice wrote on #1: @\u200bchannel @\u200bhere @\u200bUDANA help! Fees &amp; charges &lt;b&gt;doubled&lt;/b&gt;"
    )


def _mrkdwn_objects(value: object) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn":
            found.append(value)
        for item in value.values():
            found += _mrkdwn_objects(item)
    elif isinstance(value, list):
        for item in value:
            found += _mrkdwn_objects(item)
    return found


async def test_request_url_verification_challenge(driver: SlackDriver) -> None:
    body = json.dumps(
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    status, text = await driver.post(body, "application/json")
    assert status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


async def test_digest_now_posts_in_the_leads_channel_with_the_chart_attached(
    driver: SlackDriver, tmp_path: object
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    driver.desk.ctx.charts_dir = tmp_path
    await driver.event(payload("message_im"))
    assert await driver.command("UDANA", "now", key="digest", command="/digest") == 200
    await driver.settle()
    assert driver.api.answers("digest") == ["Digest posted in #CLEADS."]
    [digest] = driver.api.top_level("CLEADS")
    assert digest.text.startswith("📊 Queue digest")
    [upload] = driver.api.uploads.values()
    assert (upload["channel"], upload["thread_ts"]) == ("CLEADS", digest.ts)
    assert upload["filename"].endswith(".png") and upload["data"].startswith(b"\x89PNG")


async def test_sla_alerts_ping_the_people_they_name(driver: SlackDriver) -> None:
    from bot.domain.refs import UserRef
    from bot.outbound import Message

    alert = Message(text="#1 first response target missed — Bob", mentions=(UserRef(platform="slack", id="UBOB"),))
    await driver.adapter.platform.post_message("CLEADS", alert)
    [post] = driver.api.top_level("CLEADS")
    assert post.text.startswith("<@UBOB> #1 first response target missed")
    assert post.blocks[-1]["elements"][0]["text"] == "cc <@UBOB>"


async def test_a_post_slack_stored_before_failing_is_not_posted_again(driver: SlackDriver) -> None:
    """Slack stored the acknowledgement, then answered 500 (or the connection dropped): the retry finds the
    post by its metadata in the thread and does not post it a second time."""
    api = driver.api
    api.fail_next("chat.postMessage", Failure(status=500, channel="DALICE", stored=True))
    await driver.event(payload("message_im"))
    for _ in range(3):
        await driver.settle()
        driver.worker.clock.advance(seconds=70)  # type: ignore[attr-defined]
    await driver.settle()
    [ack] = api.in_thread("DALICE", DM_TS)
    assert "ticket #1" in ack.text
    assert [c.method for c in api.calls if c.params.get("channel") == "DALICE"].count("chat.postMessage") == 1
    assert any(c.method == "conversations.replies" for c in api.calls)
    assert sql(driver.desk.ctx.store, "SELECT state FROM outbox WHERE ordering_key LIKE 'customer:%'") == [
        ("delivered",)
    ]


async def test_a_command_form_submitted_twice_runs_once(driver: SlackDriver) -> None:
    """Slack's client can send one submission twice (the same trigger_id): one ticket, and the second
    submission is told it was a repeat."""
    twice = "13345224609.738474920.twice"
    for _ in range(2):
        assert await driver.command("UALICE", "new My invoices are missing", channel="DALICE", trigger_id=twice) == 200
    await driver.settle()
    assert sql(driver.desk.ctx.store, "SELECT COUNT(*) FROM tickets") == [(1,)]
    first, second = driver.api.answers("cmd")
    assert "#1" in first
    assert second == "That was submitted twice; it was done once (see the first answer)."
