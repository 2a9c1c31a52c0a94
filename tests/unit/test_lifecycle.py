from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.errors import IllegalTransition
from bot.domain.ticket import TRANSITIONS, Priority, Status, check_transition, humanize_duration


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize(
    ("current", "target"),
    [(Status.NEW, Status.OPEN), (Status.OPEN, Status.PENDING), (Status.PENDING, Status.ON_HOLD),
     (Status.ON_HOLD, Status.OPEN), (Status.RESOLVED, Status.CLOSED), (Status.OPEN, Status.CLOSED)],
)  # fmt: skip
def test_allowed(current: Status, target: Status) -> None:
    check_transition(42, current, target)


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (Status.CLOSED, Status.OPEN, "#42 is closed — use `/ticket reopen 42` first."),
        (Status.RESOLVED, Status.PENDING, "#42 is resolved — use `/ticket reopen 42` first."),
        (Status.OPEN, Status.NEW, "#42 can't go back to new — use `/ticket status 42 open`."),
        (Status.OPEN, Status.RESOLVED, "resolving needs a summary: `/ticket resolve 42 <summary>`."),
        (Status.PENDING, Status.PENDING, "#42 is already pending."),
        (Status.CLOSED, Status.CLOSED, "#42 is already closed."),
    ],
)
def test_refused_with_reason_and_fix(current: Status, target: Status, message: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(42, current, target)
    assert message in caught.value.message


def test_priority_raise_stops_at_urgent() -> None:
    assert Priority.NORMAL.raised() is Priority.HIGH
    assert Priority.URGENT.raised() is Priority.URGENT


@pytest.mark.parametrize(
    ("delta", "shown"),
    [(timedelta(seconds=5), "just now"), (timedelta(minutes=4), "4m"), (timedelta(hours=2, minutes=5), "2h 5m"),
     (timedelta(days=3, hours=4, minutes=9), "3d 4h")],
)  # fmt: skip
def test_age(delta: timedelta, shown: str) -> None:
    assert humanize_duration(delta) == shown
