"""`incident.*` webhooks through the real receiver that verifies with the `standardwebhooks` library: every
incident event, in order, matching the JSON Schema; `incident.*` and `*` select them; an internal note on
the incident (the card's thread) only reaches an endpoint with `include_internal = true`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from adapters.webhooks.sender import WebhookSender, load_endpoints, make_worker
from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.domain.inbound import IncomingMessage
from bot.domain.refs import UserRef
from bot.ports import Store
from bot.webhooks.config import WebhookConfig
from tests.conftest import ALICE, BOB, CAROL, dm, make_settings
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.fakes.webhook_receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"ThreadDesk incident key, 32 b!!!").decode()
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/webhooks/payload-v1.schema.json").read_text())
DAVE = UserRef(platform="test", id="dave", name="Dave")
NOTE = "Root cause: the auth DB failover; do not tell customers yet"


def _receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


incidents_only = pytest.fixture(_receiver, name="incidents_only")
audit = pytest.fixture(_receiver, name="audit")
everything = pytest.fixture(_receiver, name="everything")
tickets_only = pytest.fixture(_receiver, name="tickets_only")


async def test_incident_events_arrive_signed_in_order_and_notes_only_where_allowed(
    incidents_only: Receiver,
    audit: Receiver,
    everything: Receiver,
    tickets_only: Receiver,
    db: Store,
    clock: FakeClock,
    platform: RecordingPlatform,
) -> None:
    hooks = [
        {"name": "status-page", "url": incidents_only.url, "events": ["incident.*"]},
        {"name": "audit", "url": audit.url, "events": ["*"], "include_internal": True},
        {"name": "all", "url": everything.url},  # the default: "*"
        {"name": "tracker", "url": tickets_only.url, "events": ["ticket.created"]},
    ]
    settings = make_settings(kb={"suggestions": 0}, webhooks=[{"secret_env": "TD_HOOK_SECRET", **h} for h in hooks])
    desk = build_desk(settings, db, clock=clock)
    chat = DeliveryWorker(db, {platform.name: platform}, clock)
    sender = WebhookSender(load_endpoints(settings.webhooks, {"TD_HOOK_SECRET": SECRET}), clock)
    try:
        await desk.receive(dm(ALICE, "I can't log in, the page shows error 503", message_id="r1"))
        await desk.receive(dm(CAROL, "The invoice PDF for October is missing", message_id="r2"))
        await desk.receive(dm(DAVE, "Exports time out after a minute", message_id="r3"))
        assert (await desk.run(BOB, "/incident new Login failures #1 #2")).ok
        assert (await desk.run(BOB, "/incident link 1 #3")).ok
        await chat.drain()
        [card] = [p for p in platform.in_channel("queue") if (p.current.title or "").startswith("🔥 INC-1")]
        await desk.receive(
            IncomingMessage(platform="test", message_id="n1", author=BOB, channel="queue", thread=card.id, text=NOTE)
        )
        assert (await desk.run(BOB, "/incident update 1 Restarting the login service.")).ok
        assert (await desk.run(BOB, "/incident status 1 identified")).ok
        assert (await desk.run(BOB, "/incident unlink 1 #3")).ok
        assert (await desk.run(BOB, "/incident resolve 1 Rolled back the config push.")).ok
        await make_worker(db, sender, clock).drain()
    finally:
        await sender.close()

    received = incidents_only.requests + audit.requests + everything.requests + tickets_only.requests
    assert received and all(r.verified for r in received)
    for payload in incidents_only.accepted + audit.accepted + everything.accepted + tickets_only.accepted:
        jsonschema.validate(payload, SCHEMA)

    types = [p["type"] for p in incidents_only.accepted]
    assert types == [
        "incident.created",
        "incident.linked",  # #1
        "incident.linked",  # #2
        "incident.linked",  # #3
        "incident.updated",  # the public update
        "incident.status_changed",
        "incident.unlinked",
        "incident.resolved",
    ]
    created, *_ = incidents_only.accepted
    assert created["data"]["incident"]["ref"] == "INC-1"
    assert created["data"]["incident"]["title"] == "Login failures"
    assert created["data"]["incident"]["linked_tickets"] == [1, 2]
    assert [p["data"]["event"]["ticket"] for p in incidents_only.accepted[1:4]] == [1, 2, 3]
    update = incidents_only.accepted[4]["data"]["update"]
    assert (update["text"], update["visibility"], update["author"]["name"]) == (
        "Restarting the login service.",
        "public",
        "Bob",
    )
    changed = incidents_only.accepted[5]["data"]
    assert (changed["event"]["before"], changed["event"]["after"]) == ("investigating", "identified")
    assert changed["incident"]["status"] == "identified"
    assert incidents_only.accepted[6]["data"]["incident"]["linked_tickets"] == [1, 2]
    resolved = incidents_only.accepted[7]["data"]
    assert resolved["incident"]["status"] == "resolved"
    assert resolved["incident"]["resolution"] == "Rolled back the config push."
    assert resolved["event"]["tickets_resolved"] == 2

    # the internal note left only for the endpoint that asked for internal content
    for receiver in (incidents_only, everything, tickets_only):
        assert not any(NOTE in r.body for r in receiver.requests)
    notes = [p for p in audit.accepted if p["type"] == "incident.updated" and p["data"]["update"]["text"] == NOTE]
    assert len(notes) == 1 and notes[0]["data"]["update"]["visibility"] == "internal"
    # `*` takes incident events and ticket events alike; the audit endpoint got the note on top
    every = [p["type"] for p in everything.accepted]
    assert [t for t in every if t.startswith("incident.")] == types
    assert "ticket.created" in every and "ticket.resolved" in every
    assert [p["type"] for p in audit.accepted if p["type"].startswith("incident.")].count("incident.updated") == 2
    # an endpoint subscribed to tickets only gets no incident event
    assert {p["type"] for p in tickets_only.accepted} == {"ticket.created"}
    # one event, one id across endpoints
    assert {p["id"] for p in everything.accepted if p["type"] == "incident.created"} == {
        p["id"] for p in incidents_only.accepted if p["type"] == "incident.created"
    }


def test_incident_event_names_are_subscribable_and_unknown_ones_refused() -> None:
    for name in ("incident.*", "incident.created", "incident.status_changed", "incident.unlinked"):
        WebhookConfig(url="https://h.example.com/x", secret_env="S", events=(name,))
    with pytest.raises(ValueError, match="is not an event type"):
        WebhookConfig(url="https://h.example.com/x", secret_env="S", events=("incident.opened",))
    hook = WebhookConfig(url="https://h.example.com/x", secret_env="S", events=("incident.*",))
    assert hook.wants("incident.linked") and not hook.wants("ticket.created")
