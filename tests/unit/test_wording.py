"""What people read: history lines in words, durations that read after "in", short ids for saved articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.refs import ThreadRef
from bot.domain.sla import Level, Target
from bot.domain.ticket import Priority, Status, Ticket, humanize_span
from bot.records import Event
from bot.services.history_text import describe_event
from bot.services.kb_commands import article_id_from_sentence
from bot.services.leads_notify import sla_alert
from tests.conftest import ALICE, BOB

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def event(kind: str, **detail: object) -> Event:
    return Event(ticket=1, at=NOW, actor=BOB, kind=kind, detail=dict(detail))


def test_history_lines_name_targets_and_statuses_in_words() -> None:
    assert describe_event(event("sla_warning", target="first_response", late=False)) == (
        "warned that the first response target is near"
    )
    assert describe_event(event("sla_breach", target="resolution", late=True)) == (
        "flagged that the resolution target was missed (late: ThreadDesk was not running)"
    )
    assert describe_event(event("status_changed", before="open", after="on_hold")) == "changed status open → on hold"
    assert describe_event(event("reminder_sent", attempt=2)) == "reminded the customer (reminder 2)"


def test_a_moment_under_a_minute_away_is_not_due_in_just_now() -> None:
    assert humanize_span(timedelta(seconds=20)) == "under a minute"
    assert humanize_span(timedelta(minutes=5)) == "5m"
    ticket = Ticket(
        number=1,
        subject="Site down",
        description="Site down",
        customer=ALICE,
        origin=ThreadRef(platform="test", channel="dm-alice", thread="m1"),
        status=Status.OPEN,
        priority=Priority.URGENT,
        created_at=NOW,
        updated_at=NOW,
    )
    due = NOW + timedelta(seconds=30)
    alert = sla_alert(ticket, Target.FIRST_RESPONSE, Level.WARNING, NOW, due, NOW, (BOB,), late=False)
    assert alert.text.startswith("⏳ SLA warning: #1 first response due in under a minute (")
    assert "just now" not in alert.text


def test_saved_article_ids_are_a_few_content_words_of_the_first_sentence() -> None:
    assert article_id_from_sentence("Hi, the password reset email never arrives!") == (
        "password-reset-email-never-arrives"
    )
    assert article_id_from_sentence("Hi! My card was charged twice. Please help") == "card-charged-twice"
    assert article_id_from_sentence(
        "I can't log in to my account, the password reset email never arrives and I tried three times"
    ) == ("cant-log-account-password-reset")
