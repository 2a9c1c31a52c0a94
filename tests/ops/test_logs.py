"""`--log-format json`: one object per line with ticket, platform, command and request id; no secrets, and
no customer text at INFO."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from adapters.log_setup import REDACTED, JsonFormatter, TextFormatter, configure
from bot import logcontext
from bot.delivery import DeliveryWorker
from bot.ports import RetryLater
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, dm
from tests.fakes.platform import RecordingPlatform


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lines]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234-secret-value")
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure(verbose=True, log_format="json")
    [handler] = root.handlers
    capture = Lines()
    for f in handler.filters:
        capture.addFilter(f)
    capture.setFormatter(JsonFormatter())
    root.addHandler(capture)
    yield capture
    root.handlers[:], root.level = saved


async def test_json_lines_carry_context_and_never_customer_text_or_secrets(
    lines: Lines, desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    secret_words = "my card number is 4111 and my password is hunter2"
    message = dm(ALICE, secret_words, message_id="m-req-1")
    await desk.receive(message)
    await desk.receive(message)  # a re-delivery: logged at INFO with its ids
    platform.fail_next(RetryLater("rate limited", retry_after=1, rate_limited=True))
    await worker.drain()
    await desk.run(BOB, "/ticket claim 1")
    logging.getLogger("threaddesk.test").warning("token leaked? xoxb-1234-secret-value and xapp-1-AAAA-BBBB")

    redelivered = next(line for line in lines.lines if "re-delivered" in str(line["message"]))
    assert redelivered["platform"] == "test" and redelivered["request_id"] == "m-req-1"
    assert redelivered["level"] == "info" and redelivered["command"] == "message"
    retry = next(line for line in lines.lines if "retrying in" in str(line["message"]))
    assert retry["ticket"] == 1 and retry["platform"] == "test" and str(retry["request_id"]).startswith("outbox-")
    leaked = lines.lines[-1]
    assert leaked["message"] == f"token leaked? {REDACTED} and {REDACTED}"
    everything = "\n".join(json.dumps(line) for line in lines.lines)
    assert "hunter2" not in everything and "secret-value" not in everything


class TextLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_text_lines_carry_the_same_context_compactly(
    monkeypatch: pytest.MonkeyPatch, desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure(verbose=True, log_format="text")
    [handler] = root.handlers
    assert isinstance(handler.formatter, TextFormatter)
    capture = TextLines()
    for f in handler.filters:
        capture.addFilter(f)
    capture.setFormatter(handler.formatter)
    root.addHandler(capture)
    try:
        message = dm(ALICE, "my password is hunter2", message_id="m-req-2")
        await desk.receive(message)
        await desk.receive(message)  # a re-delivery: logged at INFO with its ids
        platform.fail_next(RetryLater("rate limited", retry_after=1, rate_limited=True))
        await worker.drain()
        logging.getLogger("threaddesk.test").warning("no context here")
        try:
            raise ValueError("boom")
        except ValueError:
            with logcontext.bound(ticket=7, platform="slack"):
                logging.getLogger("threaddesk.test").exception("failed")
    finally:
        root.handlers[:], root.level = saved

    redelivered = next(line for line in capture.lines if "re-delivered" in line)
    assert redelivered.endswith("[platform=test command=message request_id=m-req-2]")
    retry = next(line for line in capture.lines if "retrying in" in line)
    assert "[ticket=1 platform=test request_id=outbox-" in retry
    assert next(line for line in capture.lines if "no context here" in line).endswith("no context here")
    failed = next(line for line in capture.lines if "failed" in line and "Traceback" in line)
    first, _, traceback = failed.partition("\n")
    assert first.endswith("failed [ticket=7 platform=slack]") and "ValueError: boom" in traceback
    assert not any("hunter2" in line for line in capture.lines)
