"""The real console process (`threaddesk console`, and `run` with no platform enabled): /healthz, /readyz and
/metrics with `[ops] enabled`, then SIGTERM with a line in hand — it is finished, its posts are flushed,
and the process exits 0 although its stdin is still open."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.adapters.slack.test_cli import _free_port
from tests.fakes.patience import HANG, wait_until
from tests.ops.test_shutdown_process import _get

ROOT = Path(__file__).resolve().parents[2]


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def _wait_for(lines: queue.Queue[str], seen: list[str], wanted: str) -> None:
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=deadline - time.monotonic())
        except queue.Empty:
            break
        seen.append(line)
        if wanted in line:
            return
    raise AssertionError(f"{wanted!r} not printed within {HANG:g}s:\n{''.join(seen)[-3000:]}")


@pytest.mark.parametrize("command", ["console", "run"])
def test_console_serves_ops_endpoints_and_stops_gracefully_on_sigterm(tmp_path: Path, command: str) -> None:
    ops_port = _free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[store]
path = "desk.db"
[ops]
enabled = true
port = {ops_port}
drain_seconds = 20
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "adapters.cli", command, "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdin is not None and process.stdout is not None
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    readers = [
        threading.Thread(target=_lines, args=(process.stdout, out), daemon=True),
        threading.Thread(target=_lines, args=(process.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    seen: list[str] = []
    ops = f"http://127.0.0.1:{ops_port}"
    try:
        _wait_for(out, seen, "ThreadDesk console")
        answer = wait_until(
            lambda: (found := _get(f"{ops}/readyz")) is not None and found[0] == 200 and found, "/readyz to say ready"
        )
        checks = answer[1]["checks"]
        assert isinstance(checks, dict) and set(checks) >= {"store", "platform:console", "outbox", "inbox"}
        assert _get(f"{ops}/healthz") == (200, {"status": "ok"})
        with urllib.request.urlopen(f"{ops}/metrics", timeout=5) as response:
            assert response.status == 200 and b"threaddesk_outbox_depth" in response.read()

        process.stdin.write("The export button does nothing since this morning\n")
        process.stdin.flush()
        _wait_for(out, seen, "The export button does nothing")  # echoed: the line is in hand
        process.send_signal(signal.SIGTERM)  # stdin stays open: the console must not wait for another line
        process.wait(timeout=HANG)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            process.wait()
        for reader in readers:
            reader.join(timeout=HANG)
        process.stdin.close()
    stdout = "".join(seen) + "".join(out.queue)
    stderr = "".join(err.queue)
    assert process.returncode == 0, stderr[-3000:]
    assert "shutting down: no new lines" in stderr and "shutdown: outbox flushed; stopped cleanly" in stderr
    assert "Traceback" not in stderr
    assert "Bye — everything is saved" in stdout
    with sqlite3.connect(tmp_path / "desk.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone() == (1,)  # the line in hand was finished
        assert conn.execute("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'").fetchone() == (0,)
