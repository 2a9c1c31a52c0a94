"""Outbound webhooks through a real HTTP receiver that verifies with the `standardwebhooks` library."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters.webhooks.sender import WebhookSender, load_endpoints, make_worker
from bot.bootstrap import build_desk
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.records import Delivery
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, dm, make_settings
from tests.fakes.clock import FakeClock
from tests.fakes.webhook_receiver import HANG, Receiver

SECRET = "whsec_" + base64.b64encode(b"ThreadDesk test key, 32 bytes!!!").decode()
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/webhooks/payload-v1.schema.json").read_text())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


@pytest.fixture
def internal_receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


def no_kb_settings(**overrides: Any) -> Settings:
    """No KB suggestions: these tests are about webhooks, and seeding the KB costs seconds per test."""
    return make_settings(kb={"suggestions": 0}, **overrides)


def hooks(*endpoints: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"secret_env": "TD_HOOK_SECRET", **e} for e in endpoints]


class Rig:
    def __init__(self, desk: Desk, worker: DeliveryWorker, sender: WebhookSender, db: Store) -> None:
        self.desk, self.worker, self.sender, self.db = desk, worker, sender, db

    async def deliveries(self, failed_only: bool = False) -> list[Delivery]:
        async with self.db.reading() as uow:
            return await uow.webhook_deliveries.list_deliveries(failed_only=failed_only)


@pytest.fixture
def webhook_config(receiver: Receiver) -> list[dict[str, Any]]:
    return hooks({"name": "tracker", "url": receiver.url})


@pytest.fixture
async def rig(webhook_config: list[dict[str, Any]], db: Store, clock: FakeClock) -> AsyncIterator[Rig]:
    settings = no_kb_settings(webhooks=webhook_config)
    desk = build_desk(settings, db, clock=clock)
    sender = WebhookSender(load_endpoints(settings.webhooks, {"TD_HOOK_SECRET": SECRET}), clock)
    yield Rig(desk, make_worker(db, sender, clock), sender, db)
    await sender.close()


async def a_whole_ticket(desk: Desk) -> None:
    await desk.receive(dm(ALICE, "I can't log in to my account", message_id="m-open"))
    assert (await desk.run(BOB, "/ticket claim 1")).ok
    assert (await desk.run(BOB, "/ticket reply 1 Try the reset link I sent.")).ok
    assert (await desk.run(BOB, "/ticket note 1 Legacy SSO account, ask IT")).ok
    await desk.receive(dm(ALICE, "It worked, thanks!", thread="m-open"))
    assert (await desk.run(BOB, "/ticket priority 1 high")).ok
    assert (await desk.run(BOB, "/ticket resolve 1 Reset link re-sent.")).ok
    assert (await desk.run(ALICE, "/ticket close 1")).ok
    assert (await desk.run(ALICE, "/ticket rate 1 5 Quick!")).ok
    assert (await desk.run(BOB, "/ticket reopen 1 Customer wrote again")).ok


async def test_every_event_arrives_signed_in_order_and_notes_only_where_allowed(
    receiver: Receiver, internal_receiver: Receiver, db: Store, clock: FakeClock
) -> None:
    settings = make_settings(
        webhooks=hooks(
            {"name": "tracker", "url": receiver.url},
            {"name": "audit", "url": internal_receiver.url, "include_internal": True, "events": ["ticket.replied"]},
        )
    )
    desk = build_desk(settings, db, clock=clock)
    sender = WebhookSender(load_endpoints(settings.webhooks, {"TD_HOOK_SECRET": SECRET}), clock)
    try:
        await a_whole_ticket(desk)
        await make_worker(db, sender, clock).drain()
    finally:
        await sender.close()

    assert all(r.verified for r in receiver.requests + internal_receiver.requests)
    assert [p["type"] for p in receiver.accepted] == [
        "ticket.created",
        "ticket.assigned",
        "ticket.updated",  # new → open on claim
        "ticket.replied",  # Bob's reply
        "ticket.replied",  # Alice's answer
        "ticket.updated",  # priority
        "ticket.resolved",
        "ticket.closed",
        "csat.rated",
        "ticket.reopened",
    ]
    for payload in receiver.accepted + internal_receiver.accepted:
        jsonschema.validate(payload, SCHEMA)
    created, assigned = receiver.accepted[0], receiver.accepted[1]
    assert created["data"]["ticket"]["subject"] == "I can't log in to my account"
    assert created["data"]["ticket"]["customer"] == {"platform": "test", "id": "alice", "name": "Alice"}
    assert assigned["data"]["ticket"]["assignee"]["name"] == "Bob"
    reply = receiver.accepted[3]["data"]["message"]
    assert (reply["body"], reply["role"], reply["author"]["name"]) == ("Try the reset link I sent.", "agent", "Bob")
    assert receiver.accepted[4]["data"]["message"]["body"] == "It worked, thanks!"
    resolved = receiver.accepted[6]["data"]["ticket"]
    assert (resolved["status"], resolved["resolution_summary"]) == ("resolved", "Reset link re-sent.")
    assert receiver.accepted[8]["data"]["event"]["rating"] == 5
    # the internal note never reached the endpoint without include_internal …
    assert not any("Legacy SSO" in r.body for r in receiver.requests)
    # … and reached the one that asked for internal content (and only the events it subscribed to)
    bodies = [p["data"]["message"]["body"] for p in internal_receiver.accepted]
    assert bodies == ["Try the reset link I sent.", "Legacy SSO account, ask IT", "It worked, thanks!"]
    assert internal_receiver.accepted[1]["data"]["message"]["visibility"] == "internal"
    # a retry-safe id: the header and the body agree
    for r in receiver.requests:
        assert r.headers["webhook-id"] == r.payload["id"]


async def test_500_and_429_are_retried_with_backoff_and_retry_after_in_order(
    rig: Rig, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.answer(500, (429, {"Retry-After": "120"}))
    await rig.desk.receive(dm(ALICE, "The export button does nothing", message_id="m1"))
    assert (await rig.desk.run(BOB, "/ticket claim 1")).ok
    await rig.worker.drain()
    assert [r.answered for r in receiver.requests] == [500]
    [*_, first] = await rig.deliveries()
    assert first.state == "pending" and first.last_error == "tracker: HTTP 500"

    clock.advance(seconds=2)  # first backoff
    await rig.worker.drain()
    assert [r.answered for r in receiver.requests] == [500, 429]
    clock.advance(seconds=60)  # Retry-After says 120: not yet
    await rig.worker.drain()
    assert len(receiver.requests) == 2, "the later event waits behind the first: order per ticket"
    clock.advance(seconds=60)
    await rig.worker.drain()
    assert [r.answered for r in receiver.requests] == [500, 429, 200, 200, 200]
    assert [p["type"] for p in receiver.accepted] == ["ticket.created", "ticket.assigned", "ticket.updated"]
    assert len({r.payload["id"] for r in receiver.requests[:3]}) == 1, "retries carry the same webhook-id"
    assert all(d.state == "delivered" for d in await rig.deliveries())


async def test_gives_up_after_the_configured_time_then_redelivers(
    receiver: Receiver, db: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = no_kb_settings(webhooks=hooks({"name": "tracker", "url": receiver.url, "give_up_after": "1h"}))
    desk = build_desk(settings, db, clock=clock)
    sender = WebhookSender(load_endpoints(settings.webhooks, {"TD_HOOK_SECRET": SECRET}), clock)
    worker = make_worker(db, sender, clock)
    rig = Rig(desk, worker, sender, db)
    try:
        receiver.answer(*([503] * 100))
        await desk.receive(dm(ALICE, "Where is my invoice?", message_id="m1"))
        await worker.drain()
        for _ in range(30):
            clock.advance(minutes=5)
            await worker.drain()
        [failed] = await rig.deliveries(failed_only=True)
        assert failed.event_type == "ticket.created" and failed.ticket == 1
        assert failed.last_error == "tracker: HTTP 503; gave up 1h after the event"
        tries = len(receiver.requests)
        assert 3 < tries < 30, "backed off, not hammered"
        clock.advance(hours=5)
        await worker.drain()
        assert len(receiver.requests) == tries, "a failed delivery is not retried on its own"

        receiver.script.clear()  # the receiver is fixed
        async with db.transaction() as uow:
            again = await uow.webhook_deliveries.requeue(failed.id, clock.now())
        assert again is not None
        async with db.reading() as uow:
            row = await uow.webhook_deliveries.pending_row(again)
        assert row is not None
        await worker.deliver_one(row)
        assert receiver.requests[-1].answered == 200 and receiver.requests[-1].verified
        assert receiver.accepted[-1]["id"] == failed.event_id, "a redelivery is the same event"
        async with db.reading() as uow:
            old = await uow.webhook_deliveries.get_delivery(failed.id)
            new = await uow.webhook_deliveries.get_delivery(again)
        assert old is not None and old.state == "failed", "the record of the failure stays"
        assert new is not None and (new.state, new.answer) == ("delivered", "HTTP 200")
    finally:
        await sender.close()
    key = base64.b64encode(b"ThreadDesk test key, 32 bytes!!!").decode()
    assert "gave up" in caplog.text
    for secret in (SECRET, key):
        assert secret not in caplog.text
        assert secret.encode() not in Path(db.path).read_bytes()


async def test_a_4xx_fails_at_once_and_later_events_still_go(rig: Rig, receiver: Receiver) -> None:
    receiver.answer(404)
    await rig.desk.receive(dm(ALICE, "Hello there, my card was charged twice", message_id="m1"))
    assert (await rig.desk.run(BOB, "/ticket claim 1")).ok
    await rig.worker.drain()
    states = [(d.event_type, d.state) for d in reversed(await rig.deliveries())]
    assert states == [("ticket.created", "failed"), ("ticket.assigned", "delivered"), ("ticket.updated", "delivered")]
    [failed] = await rig.deliveries(failed_only=True)
    assert failed.last_error == "tracker answered HTTP 404; not retried (only timeouts, 429 and 5xx are)"


async def test_timeouts_and_refused_connections_are_retried(db: Store, clock: FakeClock, receiver: Receiver) -> None:
    receiver.answer(HANG)
    settings = no_kb_settings(
        webhooks=hooks(
            {"name": "slow", "url": receiver.url, "timeout": 0.2},
            {"name": "down", "url": "http://127.0.0.1:9/hooks"},  # nobody listens there
        )
    )
    desk = build_desk(settings, db, clock=clock)
    sender = WebhookSender(load_endpoints(settings.webhooks, {"TD_HOOK_SECRET": SECRET}), clock)
    try:
        await desk.receive(dm(ALICE, "Is the API down?", message_id="m1"))
        await make_worker(db, sender, clock).drain()
    finally:
        receiver.release.set()
        await sender.close()
    async with db.reading() as uow:
        pending = {d.endpoint: d for d in await uow.webhook_deliveries.list_deliveries()}
    assert pending["slow"].last_error == "slow: no answer within 0.2s"
    assert pending["down"].last_error == "down: could not connect (ClientConnectorError)"
    for d in pending.values():
        assert d.state == "pending" and d.next_attempt_at == clock.now() + timedelta(seconds=2)


def test_secrets_are_checked_with_the_fix_named() -> None:
    from adapters.webhooks.sender import WebhookSetupError

    [hook] = no_kb_settings(webhooks=hooks({"url": "https://hooks.example.com/x"})).webhooks
    assert hook.label == "hooks.example.com"
    with pytest.raises(WebhookSetupError, match=r"TD_HOOK_SECRET is not set — export TD_HOOK_SECRET=whsec_"):
        load_endpoints([hook], {})
    with pytest.raises(WebhookSetupError) as bad:
        load_endpoints([hook], {"TD_HOOK_SECRET": "hunter2!"})
    assert "hunter2" not in str(bad.value) and "'whsec_' followed by base64" in str(bad.value)


def test_config_names_the_bad_key() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as bad:
        make_settings(
            webhooks=[
                {"url": "ftp://x", "secret_env": "S", "events": ["ticket.exploded"]},
            ]
        )
    text = str(bad.value)
    assert "webhooks.0.url: 'ftp://x' is not an http(s) URL" in text
    assert "webhooks.0.events: 'ticket.exploded' is not an event type; use '*' or any of: ticket.created" in text
    with pytest.raises(ConfigError) as twice:
        make_settings(
            webhooks=[
                {"url": "https://a.example/1", "secret_env": "S"},
                {"url": "https://a.example/2", "secret_env": "S"},
            ]
        )
    text = str(twice.value)
    assert "webhooks.1.name: another endpoint is already called 'a.example'; set `name`" in text
