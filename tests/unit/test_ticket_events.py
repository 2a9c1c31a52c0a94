"""Each ticket event writes the history row the services write today: same kind, same detail, same key order
(the row's detail is `json.dumps(detail)`, so the order is part of the row)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.refs import UserRef, bot_user
from bot.domain.ticket import Priority, Status
from bot.domain.ticket_events import (
    Assigned,
    CustomerMessage,
    Escalated,
    FirstResponse,
    HistoryEntry,
    PriorityChanged,
    Reopened,
    Replied,
    Resolved,
    StatusChanged,
    StillClosed,
    Tagged,
    TicketEvent,
    Unassigned,
    changed,
    history,
)

BOB = UserRef(platform="test", id="bob", name="Bob")
ERIN = UserRef(platform="test", id="erin", name="Erin")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def row(kind: str, by: UserRef | None = None, **detail: Any) -> tuple[str, str, UserRef | None]:
    """What `work.event(kind, by=by, **detail)` writes today: the kind, the JSON detail, the actor override."""
    return kind, json.dumps(detail), by


def written(event: TicketEvent) -> tuple[str, str, UserRef | None] | None:
    entry = event.history()
    return None if entry is None else (entry.kind, json.dumps(entry.detail), entry.by)


@pytest.mark.parametrize(
    ("event", "today"),
    [
        # actions._assign, then its new -> open
        (Assigned(before=None, after=ERIN), row("assigned", before=None, after="Erin")),
        (Assigned(before=BOB, after=ERIN), row("assigned", before="Bob", after="Erin")),
        (StatusChanged(before=Status.NEW, after=Status.OPEN), row("status_changed", before="new", after="open")),
        # routing.assign_to: by ThreadDesk, with how it picked
        (
            Assigned(before=None, after=ERIN, auto="round-robin, team billing", by=bot_user("test")),
            row("assigned", by=bot_user("test"), before=None, after="Erin", auto="round-robin, team billing"),
        ),
        (
            StatusChanged(before=Status.NEW, after=Status.OPEN, by=bot_user("test")),
            row("status_changed", by=bot_user("test"), before="new", after="open"),
        ),
        # actions.unclaim; routing.move and _hand_back
        (Unassigned(before=BOB), row("unassigned", before="Bob")),
        (
            Unassigned(before=BOB, reason="handed over: away"),
            row("unassigned", before="Bob", reason="handed over: away"),
        ),
        # actions._change_status (reason always present, "" included), customer replied, macro, auto-close
        (
            StatusChanged(before=Status.OPEN, after=Status.PENDING, reason=""),
            row("status_changed", before="open", after="pending", reason=""),
        ),
        (
            StatusChanged(before=Status.PENDING, after=Status.OPEN, reason="customer replied"),
            row("status_changed", before="pending", after="open", reason="customer replied"),
        ),
        (
            StatusChanged(before=Status.RESOLVED, after=Status.CLOSED, reason="no reply"),
            row("status_changed", before="resolved", after="closed", reason="no reply"),
        ),
        # replies: actions.reply, intake._join (in the thread), macros.apply
        (Replied(), row("replied", visibility="public")),
        (Replied(via="thread"), row("replied", visibility="public", via="thread")),
        (Replied(macro="thanks"), row("replied", visibility="public", macro="thanks")),
        (CustomerMessage(), row("customer_message")),
        (
            PriorityChanged(before=Priority.NORMAL, after=Priority.HIGH),
            row("priority_changed", before="normal", after="high"),
        ),
        (
            Tagged(added=("vip", "billing"), removed=("spam",)),
            row("tagged", added=["vip", "billing"], removed=["spam"]),
        ),
        (
            Escalated(reason="angry", before=Priority.HIGH, after=Priority.URGENT),
            row("escalated", reason="angry", before="high", after="urgent"),
        ),
        # actions.resolve (cited article or none), incident_work.resolve_all, kb_commands.accept
        (
            Resolved(before=Status.OPEN, summary="Reset it", kb="password-reset"),
            row("resolved", summary="Reset it", kb="password-reset"),
        ),
        (Resolved(before=Status.OPEN, summary="Reset it"), row("resolved", summary="Reset it", kb=None)),
        (
            Resolved(before=Status.OPEN, summary="Fixed upstream", incident="INC-3"),
            row("resolved", summary="Fixed upstream", kb=None, incident="INC-3"),
        ),
        (
            Resolved(before=Status.NEW, summary="Solved by the article …", by_kb=True, kb="password-reset"),
            row("self_served", article="password-reset", before="new"),
        ),
        (
            Reopened(before=Status.CLOSED, reason="still broken"),
            row("reopened", before="closed", reason="still broken"),
        ),
    ],
)
def test_history_row_is_todays(event: TicketEvent, today: tuple[str, str, UserRef | None]) -> None:
    assert written(event) == today


@pytest.mark.parametrize(
    "event",
    [
        FirstResponse(at=NOW),
        StatusChanged(before=Status.NEW, after=Status.OPEN, recorded=False),
        StillClosed(number=4),
    ],
)
def test_events_without_a_history_row(event: TicketEvent) -> None:
    assert event.history() is None
    assert history([event]) == []


def test_history_keeps_order_and_skips_unrecorded() -> None:
    events = (Replied(), FirstResponse(at=NOW), StatusChanged(before=Status.NEW, after=Status.OPEN, recorded=False))
    assert history(events) == [HistoryEntry("replied", {"visibility": "public"})]


def test_message_events_change_no_field() -> None:
    assert not changed((Replied(), CustomerMessage(), StillClosed(number=4)))
    assert changed((Replied(), FirstResponse(at=NOW)))
    assert changed((StatusChanged(before=Status.NEW, after=Status.OPEN, recorded=False),))
    assert not changed(())


def test_events_are_frozen() -> None:
    event = PriorityChanged(before=Priority.LOW, after=Priority.HIGH)
    with pytest.raises(AttributeError):
        event.after = Priority.URGENT  # type: ignore[misc]


def test_still_closed_names_the_fix() -> None:
    assert StillClosed(number=4).notice == "#4 is closed — use `/ticket reopen 4` to continue it."
