"""/healthz, /readyz and /metrics through a real aiohttp server, on a real desk with a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from adapters.ops_http import add_ops_routes
from adapters.web.app import build_app
from bot.delivery import DeliveryWorker
from bot.health import Probe
from bot.lifecycle import WorkGate
from bot.ports import DeliveryRefused, RetryLater, Store
from bot.services.desk import Desk
from bot.web_config import WebConfig
from tests.conftest import ALICE, BOB, dm
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.fakes.sql import sql


@pytest.fixture
def probe(db: Store, clock: FakeClock, platform: RecordingPlatform) -> Probe:
    probe = Probe(db, clock, max_outbox_lag=timedelta(minutes=5))
    probe.platforms[platform.name] = lambda: True
    probe.worker_alive = lambda: True
    probe.gate = WorkGate()
    return probe


@pytest.fixture
async def client(probe: Probe) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    add_ops_routes(app, probe)  # the same function the [web] dashboard's server calls
    async with TestClient(TestServer(app)) as client:
        yield client


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
Client = TestClient[web.Request, web.Application]


def samples(text: str) -> Samples:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


async def scrape(
    client: Client,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(await response.text())


async def test_healthz_and_a_ready_desk(client: Client) -> None:
    assert (await client.get("/healthz")).status == 200
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 200, body
    assert body["status"] == "ready" and body["failed"] == []
    assert set(body["checks"]) == {"store", "platform:test", "delivery", "inbox", "outbox"}
    assert body["checks"]["store"]["detail"].startswith("reachable, schema version")


async def test_readyz_names_each_failed_check(
    client: Client,
    probe: Probe,
    desk: Desk,
    clock: FakeClock,
    db: Store,
) -> None:
    await desk.receive(dm(ALICE, "The export button does nothing"))  # its posts wait: no worker runs
    clock.advance(minutes=6)
    probe.platforms["test"] = lambda: False
    probe.worker_alive = lambda: False
    seconds = [100.0]
    probe.gate = WorkGate(monotonic=lambda: seconds[0])
    async with probe.gate.unit():  # a message stuck in handling for 61 s
        seconds[0] += 61
        response = await client.get("/readyz")
        body = await response.json()
    assert response.status == 503
    assert body["failed"] == ["platform:test", "delivery", "inbox", "outbox"]
    assert body["checks"]["inbox"]["detail"].startswith("a unit of work has been running for 61 s (limit 60 s")
    assert body["checks"]["outbox"]["detail"] == "the oldest undelivered post is 360 s old (limit 300 s)"
    assert body["checks"]["delivery"]["detail"] == "the delivery worker has stopped"

    sql(db, "PRAGMA user_version = 1")
    body = await (await client.get("/readyz")).json()
    assert "store" in body["failed"]
    assert "run `threaddesk db migrate`" in body["checks"]["store"]["detail"]

    probe.shutting_down = True
    body = await (await client.get("/readyz")).json()
    assert body["failed"][-1] == "shutdown"


async def test_metrics_count_what_happened(
    client: Client,
    desk: Desk,
    worker: DeliveryWorker,
    platform: RecordingPlatform,
    clock: FakeClock,
) -> None:
    before = await scrape(client)
    await desk.receive(dm(ALICE, "I can't log in, the password reset email never arrives"))
    waiting = await scrape(client)
    assert waiting[("threaddesk_outbox_depth", (("platform", "test"),))] == 2  # acknowledgement and card
    clock.advance(seconds=30)
    assert (await scrape(client))[("threaddesk_outbox_oldest_age_seconds", (("platform", "test"),))] == 30

    platform.fail_next(RetryLater("rate limited", retry_after=1, rate_limited=True))
    await worker.drain()
    clock.advance(seconds=2)
    await worker.drain()
    await desk.run(BOB, "/ticket resolve 1 Reset link re-sent")
    platform.fail_next(DeliveryRefused("channel gone"))
    await worker.drain()
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert after[("threaddesk_tickets_opened_total", (("platform", "test"), ("priority", "normal")))] == 1
    assert after[("threaddesk_tickets_resolved_total", (("platform", "test"), ("priority", "normal")))] == 1
    assert after[("threaddesk_kb_feedback_total", (("kind", "suggested"),))] >= 1
    assert delta("threaddesk_rate_limited_total", platform="test") == 1
    assert delta("threaddesk_deliveries_total", platform="test", result="retried") == 1
    assert delta("threaddesk_deliveries_total", platform="test", result="failed") == 1
    assert delta("threaddesk_deliveries_total", platform="test", result="ok") >= 3
    assert after[("threaddesk_outbox_failed", (("platform", "test"),))] == 1
    assert delta("threaddesk_command_seconds_count", command="ticket resolve") == 1
    assert delta("threaddesk_command_seconds_count", command="message") == 1
    assert delta("threaddesk_kb_suggest_seconds_count") == 1
    assert after[("threaddesk_inbox_depth", ())] == 0
    assert after[("threaddesk_units_in_flight", ())] == 0


async def test_inbox_figures_are_the_messages_waiting_in_the_durable_inbox(
    client: Client, probe: Probe, desk: Desk, clock: FakeClock
) -> None:
    """Kept (`desk.accept`) but not handled yet — as when the platform was told it arrived and the process
    died, or handling failed: /metrics and /readyz read the inbox table, not the process's units in flight."""
    await desk.accept(dm(ALICE, "The export button does nothing", message_id="w-1"))
    clock.advance(seconds=30)
    await desk.accept(dm(BOB, "Invoices are missing", message_id="w-2"))
    clock.advance(seconds=50)
    seen = await scrape(client)
    assert seen[("threaddesk_inbox_depth", ())] == 2
    assert seen[("threaddesk_inbox_oldest_age_seconds", ())] == 80
    assert seen[("threaddesk_units_in_flight", ())] == 0
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 503 and body["failed"] == ["inbox"]
    assert body["checks"]["inbox"]["detail"].startswith(
        "a message has waited in the inbox for 80 s (limit 60 s; 2 waiting, oldest 80 s; 0 in flight"
    )

    assert await desk.handle_waiting() == 2  # as the next start does
    seen = await scrape(client)
    assert seen[("threaddesk_inbox_depth", ())] == 0 and seen[("threaddesk_inbox_oldest_age_seconds", ())] == 0
    body = await (await client.get("/readyz")).json()
    assert body["checks"]["inbox"] == {
        "ok": True,
        "detail": "0 waiting, oldest 0 s; 0 in flight, oldest 0 s (limit 60 s)",
    }


async def test_the_dashboard_server_carries_the_same_routes(desk: Desk, probe: Probe) -> None:
    dashboard = build_app(desk, WebConfig(enabled=True), [lambda app: add_ops_routes(app, probe)])
    async with TestClient(TestServer(dashboard)) as client:
        response = await client.get("/readyz")
        assert response.status == 200 and (await response.json())["status"] == "ready"
        assert "threaddesk_tickets_opened" in await (await client.get("/metrics")).text()
