"""`threaddesk run` with `[slack] enabled = true`: setup problems end the start with one clear line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier
from typer.testing import CliRunner

from adapters.cli import app
from tests.adapters.slack.harness import PAYLOADS
from tests.fakes.loop_thread import loop_in_thread
from tests.fakes.patience import HANG, wait_until
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi


@pytest.fixture
def api_in_thread() -> Iterator[FakeSlackApi]:
    """The fake Slack API on its own loop in a thread (the CLI runs its own `asyncio.run`)."""
    with loop_in_thread() as thread:
        api = FakeSlackApi(channels={"CQUEUE": {"id": "CQUEUE", "name": "support-queue", "is_member": False}})
        thread.run(api.start(), 5)
        yield api
        thread.run(api.stop(), 5)


def _config(tmp_path: Path, api_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[store]
path = "desk.db"
[slack]
enabled = true
mode = "http"
host = "127.0.0.1"
port = 0
api_base_url = "{api_url}"
queue_channel = "CQUEUE"
""",
        encoding="utf-8",
    )
    return path


def test_missing_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["run", "--config", str(_config(tmp_path, "http://127.0.0.1:9/api/"))])
    assert result.exit_code == 1
    assert "SLACK_BOT_TOKEN (xoxb-…), SLACK_SIGNING_SECRET" in result.output
    assert "Traceback" not in result.output


def test_bad_token_and_bot_not_in_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_in_thread: FakeSlackApi
) -> None:
    config = str(_config(tmp_path, api_in_thread.api_url))
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    result = CliRunner().invoke(app, ["run", "--config", config])
    assert result.exit_code == 1
    assert "error: Slack: Slack said invalid_auth: SLACK_BOT_TOKEN is not valid" in result.output
    assert "xoxb-wrong" not in result.output, "secrets are never printed"
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    result = CliRunner().invoke(app, ["run", "--config", config])
    assert result.exit_code == 1
    assert "the bot is not in #support-queue — invite @threaddesk to #support-queue" in result.output
    assert "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_threaddesk_run_serves_slack_end_to_end(tmp_path: Path, api_in_thread: FakeSlackApi) -> None:
    """The real `threaddesk run` process: HTTP mode on a port, a signed DM in, the acknowledgement out."""
    api_in_thread.channels["CQUEUE"]["is_member"] = True
    api_in_thread.users["UALICE"] = "Alice"
    port = _free_port()
    config = _config(tmp_path, api_in_thread.api_url)
    config.write_text(config.read_text(encoding="utf-8").replace("port = 0", f"port = {port}"), encoding="utf-8")
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s3cret"}
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "run", "--config", str(config), "-v"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = (PAYLOADS / "message_im.json").read_text(encoding="utf-8")

        def deliver() -> int | None:
            """The event's status, or None while nothing listens yet (start-up fits the KB)."""
            stamp = str(int(time.time()))
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/slack/events",
                data=body.encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Slack-Request-Timestamp": stamp,
                    "X-Slack-Signature": SignatureVerifier("s3cret").generate_signature(timestamp=stamp, body=body),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    return int(response.status)
            except (ConnectionError, urllib.error.URLError):
                return None

        assert wait_until(deliver, "the bot to take the event") == 200
        wait_until(lambda: len(api_in_thread.posted) >= 2, "the acknowledgement and the queue card")
        [ack] = api_in_thread.in_thread("DALICE", "1699990000.000100")
        assert "Thanks, Alice — we've opened ticket #1" in ack.text
        assert len(api_in_thread.top_level("CQUEUE")) == 1
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=HANG)
    assert "Slack: connected to workspace Acme (T0ACME) as @threaddesk (UBOT)" in stderr
    assert BOT_TOKEN not in stderr and "s3cret" not in stderr
