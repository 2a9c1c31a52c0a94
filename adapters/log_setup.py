"""Logging for `threaddesk run`: `--log-format text|json` (or `[ops] log_format`).

JSON is one object per line with the time, level, logger and message, plus `ticket`, `platform`,
`command` and `request_id` where the code logging it knows them (see `bot.logcontext`); text lines end with
the same fields, compactly: `[ticket=42 platform=slack command=claim request_id=m-1]`. The desk never
logs customer text at INFO (only ids and numbers), and every line passes a filter that blanks the values
of the secret environment variables and anything shaped like a Slack token.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

from bot.logcontext import FIELDS, ContextFilter

#: Environment variables holding secrets; their values never reach a log line.
SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN", "DISCORD_BOT_TOKEN")
_TOKEN_SHAPE = re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{6,}")
REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.values = [v for v in (os.environ.get(name, "").strip() for name in SECRET_ENV) if len(v) >= 6]

    def redact(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, REDACTED)
        return _TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT`, then the context fields the JSON format carries, compactly, where the code knew them:
        `... bot.delivery: retrying in 2 s [ticket=42 platform=slack request_id=outbox-7]` (the JSON keys, so
    one grep finds a ticket's lines in either format)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{key}={value}" for key in FIELDS if (value := getattr(record, key, None)) is not None]
        if not fields:
            return text
        head, newline, rest = text.partition("\n")  # after the message's first line, before any traceback
        return f"{head} [{' '.join(fields)}]{newline}{rest}"


def configure(*, verbose: bool, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
