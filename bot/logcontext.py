"""What a log line is about: ticket number, platform, command and request id, set where they become known
and attached to every record logged meanwhile (the JSON log format prints them as fields).

Context variables follow asyncio tasks, so concurrent units of work never mix their fields.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

FIELDS = ("ticket", "platform", "command", "request_id")
_current: ContextVar[dict[str, str | int]] = ContextVar("threaddesk_log_context", default={})  # noqa: B039


@contextmanager
def bound(**fields: str | int | None) -> Iterator[None]:
    """Within the block, log records carry these fields (None values are left out)."""
    token = _current.set({**_current.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _current.reset(token)


def bind(**fields: str | int | None) -> None:
    """Add fields for the rest of the current task (e.g. the ticket number once a unit of work knows it)."""
    _current.set({**_current.get(), **{k: v for k, v in fields.items() if v is not None}})


def current() -> dict[str, str | int]:
    return dict(_current.get())


class ContextFilter(logging.Filter):
    """Copies the current fields onto each record (as attributes named like the fields)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _current.get().items():
            setattr(record, key, value)
        return True
