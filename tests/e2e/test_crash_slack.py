"""`kill -9` in the middle of a burst of Slack events, delivered the way Slack delivers them (an event that gets
no 200 within 3 s, or an error, is sent again), then a restart: exactly one ticket per event, and exactly one
acknowledgement and one queue card per ticket on the fake Slack."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

from tests.adapters.slack.harness import payload
from tests.adapters.slack.test_cli import _free_port, api_in_thread
from tests.fakes.patience import HANG, wait_until
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.ops.test_shutdown_process import _wait_ready

__all__ = ["api_in_thread"]

SECRET = "s3cret"
EVENTS = int(os.environ.get("CRASH_EVENTS", "1000"))  # fewer when hunting a failure
KILL_AT = EVENTS * 2 // 5  # acknowledged events before the kill
SENDERS = 8  # events in flight at once
#: Slack's own schedule is "at once, after 1 min, after 5 min"; compressed here, still spanning a restart
RETRY_DELAYS = (0.5, 2.0, 5.0, 10.0, 20.0, 40.0)


def _event(n: int) -> bytes:
    envelope = payload("message_im", user=f"U{n:04d}", channel=f"D{n:04d}", ts=f"1700000{n:03d}.000100")
    envelope["event"]["event_ts"] = envelope["event"]["ts"]
    envelope["event"]["client_msg_id"] = f"msg-{n}"
    envelope["event"]["text"] = f"Customer {n}: order {n} never arrived"
    envelope["event_id"] = f"EvCRASH{n:04d}"
    return json.dumps(envelope).encode()


class SlackSender:
    """Sends each event until it gets a 200, as Slack does (with X-Slack-Retry-Num on resends). Given several
    URLs it is Slack behind a round-robin load balancer: event n goes to URL n, each resend to the next one,
    and a connection refused (nothing was sent) goes on to the next URL at once, as nginx's
    `proxy_next_upstream error` does; only when every one refuses does the attempt fail."""

    def __init__(self, *urls: str) -> None:
        self.urls = urls
        self.acked = 0
        self.attempts: Counter[int] = Counter()
        self.failures: Counter[str] = Counter()  # why tries got no 200
        self._lock = threading.Lock()
        self.reached = threading.Event()

    def send(self, n: int) -> bool:
        body = _event(n)
        for retry, delay in enumerate((0.0, *RETRY_DELAYS)):
            time.sleep(delay)  # the sender's retry schedule (Slack's, compressed), not a wait for the bot
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body.decode()),
            }
            if retry:
                headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
            self.attempts[n] += 1
            if not self._through_balancer(n + retry, body, headers):
                continue  # no 200 (refused, reset, timed out, an error status): Slack sends it again
            with self._lock:
                self.acked += 1
                if self.acked >= KILL_AT:
                    self.reached.set()
            return True
        return False

    def _through_balancer(self, turn: int, body: bytes, headers: dict[str, str]) -> bool:
        for step in range(len(self.urls)):
            url = self.urls[(turn + step) % len(self.urls)]
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=3):
                    return True
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                reason = _reason(exc)
                with self._lock:
                    self.failures[reason] += 1
                if reason != "ConnectionRefusedError":
                    return False
        return False


def _reason(exc: OSError) -> str:
    """`HTTP 503`, `ConnectionRefusedError`, `TimeoutError`, …"""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return type(exc.reason).__name__
    return type(exc).__name__


def _start(config: Path, log: Path) -> subprocess.Popen[str]:
    """`threaddesk run`, its log in a file (a pipe nobody reads until the end would fill up and stall it)."""
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    with log.open("w", encoding="utf-8") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "run", "--config", str(config), "--log-format", "json"],
            env=env,
            stderr=sink,
            text=True,
        )


def _counts(tmp_path: Path) -> tuple[int, int, int]:
    """(tickets, posts not delivered, inbox messages) in the desk's database."""
    with sqlite3.connect(tmp_path / "desk.db") as conn:
        return (
            conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0],
        )


def test_kill_9_mid_burst_then_restart_loses_and_doubles_nothing(tmp_path: Path, api_in_thread: FakeSlackApi) -> None:
    api = api_in_thread
    api.channels["CQUEUE"]["is_member"] = True
    api.users.update({f"U{n:04d}": f"Customer {n}" for n in range(EVENTS)})
    slack_port, ops_port = _free_port(), _free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[store]
path = "desk.db"
[ops]
enabled = true
port = {ops_port}
[incidents]
enabled = false  # a thousand look-alike complaints: this test is about crashes
[intake]
max_open_per_customer = 0

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
    ops = f"http://127.0.0.1:{ops_port}"
    sender = SlackSender(f"http://127.0.0.1:{slack_port}/slack/events")
    first = _start(config, tmp_path / "first.log")
    second: subprocess.Popen[str] | None = None
    try:
        _wait_ready(ops, first)
        with ThreadPoolExecutor(SENDERS) as pool:
            sent = pool.map(sender.send, range(EVENTS))
            assert sender.reached.wait(3 * HANG), "the burst did not get going"
            first.send_signal(signal.SIGKILL)  # mid-burst: events in flight, posts half-sent
            first.communicate(timeout=HANG)
            second = _start(config, tmp_path / "second.log")
            _wait_ready(ops, second)
            assert all(sent), "an event was never acknowledged"

        wait_until(lambda: _counts(tmp_path) == (EVENTS, 0, 0), "the desk to take in every event and send every post")
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=HANG)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    for log in ("first.log", "second.log"):
        assert "Traceback" not in (tmp_path / log).read_text(encoding="utf-8")
    assert _counts(tmp_path) == (EVENTS, 0, 0)
    assert max(sender.attempts.values()) > 1  # some events really were sent again
    with sqlite3.connect(tmp_path / "desk.db") as conn:
        customers = [row[0] for row in conn.execute("SELECT customer_id FROM tickets")]
    assert sorted(customers) == sorted(f"U{n:04d}" for n in range(EVENTS))  # one ticket per event
    for n in range(EVENTS):
        acks = api.in_thread(f"D{n:04d}", f"1700000{n:03d}.000100")
        assert len(acks) == 1, (n, [a.text for a in acks])  # one acknowledgement per ticket
    cards = [p.text for p in api.top_level("CQUEUE")]
    numbers = Counter(text.split(" ")[0] for text in cards)
    assert len(cards) == EVENTS and max(numbers.values()) == 1, numbers.most_common(3)  # one card per ticket
