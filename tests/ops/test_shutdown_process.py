"""The real `threaddesk run` process, Slack in HTTP mode against the fake Web API: a burst of messages,
SIGTERM while they are being handled, and the process finishes them, flushes the outbox and exits 0."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

from tests.adapters.slack.harness import payload
from tests.adapters.slack.test_cli import _free_port, api_in_thread
from tests.fakes.patience import HANG, wait_until
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi

__all__ = ["api_in_thread"]  # the fixture: the fake Slack API on its own loop in a thread

SECRET = "s3cret"
BURST = 12


def _get(url: str) -> tuple[int, dict[str, object]] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except (ConnectionError, urllib.error.URLError):
        return None


def _wait_ready(ops: str, process: subprocess.Popen[str]) -> None:
    def ready() -> bool:
        assert process.poll() is None, "threaddesk run exited during start-up"
        answer = _get(f"{ops}/readyz")
        return answer is not None and answer[0] == 200

    wait_until(ready, "/readyz to say ready")


def _post_dm(events_url: str, n: int) -> int:
    envelope = payload("message_im", user=f"U{n:04d}", channel=f"D{n:04d}", ts=f"1700000{n:03d}.000100")
    envelope["event"]["event_ts"] = envelope["event"]["ts"]
    envelope["event"]["client_msg_id"] = f"msg-{n}"
    envelope["event"]["text"] = f"Customer {n}: the export button does nothing"
    envelope["event_id"] = f"EvBURST{n:04d}"
    body = json.dumps(envelope)
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        events_url,
        data=body.encode(),
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_sigterm_during_a_burst_loses_nothing_and_exits_0(tmp_path: Path, api_in_thread: FakeSlackApi) -> None:
    api = api_in_thread
    api.channels["CQUEUE"]["is_member"] = True
    slack_port, ops_port = _free_port(), _free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[store]
path = "desk.db"
[ops]
enabled = true
port = {ops_port}
drain_seconds = 30
[incidents]
enabled = false  # identical messages from many customers: this test is about shutdown

[slack]
enabled = true
mode = "http"
host = "127.0.0.1"
port = {slack_port}
api_base_url = "{api.api_url}"
queue_channel = "CQUEUE"
""",
        encoding="utf-8",
    )
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "run", "--config", str(config), "-v", "--log-format", "json"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{ops_port}", process)
        events = f"http://127.0.0.1:{slack_port}/slack/events"
        with ThreadPoolExecutor(BURST) as pool:
            statuses = list(pool.map(lambda n: _post_dm(events, n), range(BURST)))
        assert statuses == [200] * BURST  # all acknowledged: from here on, Slack will not send them again
        process.send_signal(signal.SIGTERM)  # while the burst is still being handled
        _, stderr = process.communicate(timeout=HANG)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [str(line["message"]) for line in lines]
    assert any(m.startswith("shutting down: no new events") for m in messages)
    assert "shutdown: outbox flushed; stopped cleanly" in messages
    assert "Traceback" not in stderr and BOT_TOKEN not in stderr

    with sqlite3.connect(tmp_path / "desk.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone() == (BURST,)
        assert conn.execute("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'").fetchone() == (0,)
    for n in range(BURST):  # every customer got their acknowledgement, once
        [ack] = api.in_thread(f"D{n:04d}", f"1700000{n:03d}.000100")
        assert "we've opened ticket #" in ack.text
    assert len(api.top_level("CQUEUE")) == BURST
