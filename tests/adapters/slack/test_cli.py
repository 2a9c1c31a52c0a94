"""`threaddesk run` with `[slack] enabled = true`: setup problems end the start with one clear line."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from tests.fakes.slack_api import FakeSlackApi


@pytest.fixture
def api_in_thread() -> Iterator[FakeSlackApi]:
    """The fake Slack API on its own loop in a thread (the CLI runs its own `asyncio.run`)."""
    loop = asyncio.new_event_loop()
    api = FakeSlackApi(channels={"CQUEUE": {"id": "CQUEUE", "name": "support-queue", "is_member": False}})
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(api.start(), loop).result(5)
    yield api
    asyncio.run_coroutine_threadsafe(api.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


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
