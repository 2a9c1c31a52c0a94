"""`threaddesk webhooks list | test | deliveries | redeliver` as a person runs them."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.webhooks.sender import WebhookSender, load_endpoints, make_worker
from bot.bootstrap import build_desk
from bot.config import PlatformChannels, load_settings
from bot.storage import open_store
from tests.conftest import ALICE, dm
from tests.e2e.test_console import threaddesk
from tests.fakes.clock import FakeClock
from tests.fakes.webhook_receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"a CLI test key of thirty-two b!!").decode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


async def test_list_test_deliveries_redeliver(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TD_CLI_HOOK_SECRET", SECRET)
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[kb]
suggestions = 0

[[webhooks]]
name = "tracker"
url = "{receiver.url}"
events = ["ticket.created", "ticket.closed"]
secret_env = "TD_CLI_HOOK_SECRET"
give_up_after = "10m"

[[webhooks]]
name = "archive"
url = "http://127.0.0.1:9/td"
events = ["ticket.closed"]
secret_env = "TD_CLI_UNSET_SECRET"
include_internal = true
""",
        encoding="utf-8",
    )
    listed = threaddesk("webhooks", "list", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "2 webhook endpoint(s):",
        f"• tracker → {receiver.url}",
        "  events: ticket.created, ticket.closed · internal notes: no · secret: $TD_CLI_HOOK_SECRET ✓"
        " · gives up after 10m",
        "• archive → http://127.0.0.1:9/td",
        "  events: ticket.closed · internal notes: yes · secret: $TD_CLI_UNSET_SECRET ✗ (the environment variable"
        " TD_CLI_UNSET_SECRET is not set) · gives up after 24h",
    ]

    tested = threaddesk("webhooks", "test", "tracker", "--config", str(config))
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.startswith("✓ tracker accepted the test event: HTTP 200 in ")
    assert receiver.accepted[-1]["type"] == "webhook.test" and receiver.requests[-1].verified

    receiver.answer(500)
    failing = threaddesk("webhooks", "test", "tracker", "--config", str(config))
    assert failing.returncode == 1
    assert f"error: tracker ({receiver.url}): HTTP 500 — the test event was not accepted" in failing.stderr

    # a delivery that was given up, made by the real core and sender
    settings = load_settings(config, {"console": PlatformChannels})
    clock = FakeClock()
    async with open_store(settings.resolve(settings.store.path)) as db:
        desk = build_desk(settings, db, clock=clock)
        monkeypatch.setenv("TD_CLI_UNSET_SECRET", SECRET)
        sender = WebhookSender(load_endpoints(settings.webhooks), clock)
        worker = make_worker(db, sender, clock)
        receiver.answer(*[503] * 50)
        await desk.receive(dm(ALICE.model_copy(update={"platform": "console"}), "My order never arrived"))
        await worker.drain()
        clock.advance(minutes=11)
        await worker.drain()
        await sender.close()
    receiver.script.clear()

    log = threaddesk("webhooks", "deliveries", "--config", str(config))
    assert log.returncode == 0, log.stderr
    assert log.stdout.splitlines() == [
        "Webhook deliveries, newest first (1 shown):",
        "     2  2026-11-02 09:00:00  ticket.created for #1 → tracker: failed after 2 attempt(s):"
        " tracker: HTTP 503; gave up 10m after the event",
        "Send one again with `threaddesk webhooks redeliver ID`.",
    ]

    again = threaddesk("webhooks", "redeliver", "2", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Delivery 2 (ticket.created for #1 to tracker) sent again as ")
    assert again.stdout.rstrip().endswith(": HTTP 200 after 1 attempt(s).")
    assert receiver.accepted[-1]["type"] == "ticket.created"
    failed = threaddesk("webhooks", "deliveries", "--failed", "--config", str(config))
    assert failed.stdout.splitlines()[0] == "Webhook failed deliveries, newest first (1 shown):"
    assert failed.stdout.splitlines()[1] == log.stdout.splitlines()[1]
    for run in (listed, tested, failing, log, failed, again):
        assert SECRET not in run.stdout + run.stderr
        assert "Traceback" not in run.stderr


def test_run_stops_at_start_when_a_secret_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[webhooks]]\nname = "tracker"\nurl = "http://127.0.0.1:9/x"\nsecret_env = "TD_NEVER_SET_SECRET"\n',
        encoding="utf-8",
    )
    run = threaddesk("console", "--config", str(config), "--db", str(tmp_path / "t.db"), stdin="hello\n")
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "error: webhook 'tracker': the environment variable TD_NEVER_SET_SECRET is not set — "
        "export TD_NEVER_SET_SECRET=whsec_… (the receiver verifies with the same secret)"
    )
