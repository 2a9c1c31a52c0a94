"""The follow-up rules, pure: which timers a change arms, keeps or clears, and when a rating is asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.refs import ThreadRef, UserRef
from bot.domain.sla import AlwaysOpen, ResolutionClock, SlaPolicy, Targets
from bot.domain.ticket import Priority, Status, Ticket
from bot.domain.ticket_events import StatusChanged
from bot.domain.ticket_followups import (
    AUTO_CLOSE,
    PENDING_REMINDER,
    SLA_TIMERS,
    TIMER_KINDS,
    Automation,
    SlaState,
    TimerPlan,
    automation_timers,
    close_reason,
    closed_without_survey,
    plan_follow_ups,
    sla_follow_up,
    survey_due,
)
from bot.sla_config import AutomationConfig

ALICE = UserRef(platform="test", id="alice", name="Alice")
BOB = UserRef(platform="test", id="bob", name="Bob")
CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = CREATED + timedelta(hours=2)
RULES = Automation(auto_close_days=7, pending_reminder_hours=48, pending_reminders=2)
SLA = SlaPolicy(
    targets={p: Targets(timedelta(hours=4), timedelta(hours=24), AlwaysOpen()) for p in Priority}, warn_at=0.5
)
FR_WARN, FR_BREACH = "sla:first_response:warning", "sla:first_response:breach"
RES_WARN, RES_BREACH = "sla:resolution:warning", "sla:resolution:breach"


def ticket(status: Status = Status.NEW, **fields: Any) -> Ticket:
    return Ticket(
        number=4,
        subject="Cannot log in",
        description="The reset e-mail never arrives",
        customer=ALICE,
        origin=ThreadRef(platform="test", channel="help", thread="t1"),
        created_at=CREATED,
        updated_at=CREATED,
        status=status,
        **fields,
    )


def test_timer_kinds() -> None:
    assert set(TIMER_KINDS) == {"auto_close", "pending_reminder", FR_WARN, FR_BREACH, RES_WARN, RES_BREACH}
    assert set(SLA_TIMERS) == {FR_WARN, FR_BREACH, RES_WARN, RES_BREACH}


# --- auto-close and pending reminders ----------------------------------------------------------------------


def test_a_resolved_ticket_gets_an_auto_close_timer() -> None:
    t = ticket(Status.RESOLVED, resolved_at=NOW)
    assert automation_timers(t, RULES, NOW) == TimerPlan(
        arm=((AUTO_CLOSE, NOW + timedelta(days=7)),), clear=(PENDING_REMINDER,)
    )


def test_auto_close_counts_from_the_resolution_not_from_now() -> None:
    t = ticket(Status.RESOLVED, resolved_at=CREATED)
    assert automation_timers(t, RULES, NOW).arm == ((AUTO_CLOSE, CREATED + timedelta(days=7)),)


def test_auto_close_off_clears_it() -> None:
    t = ticket(Status.RESOLVED, resolved_at=NOW)
    plan = automation_timers(t, Automation(auto_close_days=0), NOW)
    assert plan.arm == () and AUTO_CLOSE in plan.clear


def test_a_pending_ticket_keeps_one_reminder_timer() -> None:
    plan = automation_timers(ticket(Status.PENDING), RULES, NOW)
    assert plan == TimerPlan(keep=((PENDING_REMINDER, NOW + timedelta(hours=48)),), clear=(AUTO_CLOSE,))


@pytest.mark.parametrize("rules", [Automation(pending_reminder_hours=0), Automation(pending_reminders=0)])
def test_reminders_off_clear_it(rules: Automation) -> None:
    plan = automation_timers(ticket(Status.PENDING), rules, NOW)
    assert plan.keep == () and PENDING_REMINDER in plan.clear


@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN, Status.ON_HOLD, Status.CLOSED])
def test_other_statuses_clear_both(status: Status) -> None:
    assert automation_timers(ticket(status), RULES, NOW) == TimerPlan(clear=(AUTO_CLOSE, PENDING_REMINDER))


def test_a_new_ticket_clears_nothing() -> None:
    assert automation_timers(ticket(), RULES, NOW, is_new=True) == TimerPlan()


def test_the_config_is_rules() -> None:
    t = ticket(Status.RESOLVED, resolved_at=NOW)
    config = AutomationConfig(auto_close_days=3)
    assert automation_timers(t, config, NOW).arm == ((AUTO_CLOSE, NOW + timedelta(days=3)),)


# --- SLA timers --------------------------------------------------------------------------------------------


def test_a_new_ticket_arms_all_four_sla_timers() -> None:
    follow = sla_follow_up(SLA, ticket(), CREATED, is_new=True)
    assert follow.timers == TimerPlan(
        arm=(
            (FR_WARN, CREATED + timedelta(hours=2)),
            (FR_BREACH, CREATED + timedelta(hours=4)),
            (RES_WARN, CREATED + timedelta(hours=12)),
            (RES_BREACH, CREATED + timedelta(hours=24)),
        )
    )
    assert follow.clock == ResolutionClock(running_since=CREATED)
    assert follow.line == "first response due in 4h 0m · resolution due in 1d 0h"


def test_a_first_response_clears_its_timers() -> None:
    t = ticket(Status.OPEN, first_response_at=NOW)
    follow = sla_follow_up(SLA, t, NOW, SlaState(clock=ResolutionClock(running_since=CREATED)))
    assert follow.timers.clear == (FR_WARN, FR_BREACH)
    assert [kind for kind, _ in follow.timers.arm] == [RES_WARN, RES_BREACH]


def test_pending_pauses_the_resolution_clock_and_clears_its_timers() -> None:
    t = ticket(Status.PENDING, first_response_at=NOW)
    follow = sla_follow_up(SLA, t, NOW, SlaState(clock=ResolutionClock(running_since=CREATED)))
    assert follow.clock == ResolutionClock(used=timedelta(hours=2))
    assert follow.timers == TimerPlan(clear=(FR_WARN, FR_BREACH, RES_WARN, RES_BREACH))
    assert "paused" in follow.line


def test_an_alert_that_fired_stays_fired() -> None:
    state = SlaState(clock=ResolutionClock(running_since=CREATED), fired={("first_response", "warning")})
    follow = sla_follow_up(SLA, ticket(), NOW, state)
    assert follow.timers.clear == (FR_WARN,)
    assert [kind for kind, _ in follow.timers.arm] == [FR_BREACH, RES_WARN, RES_BREACH]


def test_a_priority_moves_the_timers() -> None:
    urgent = SlaPolicy(
        targets={**SLA.targets, Priority.URGENT: Targets(timedelta(hours=1), timedelta(hours=4), AlwaysOpen())},
        warn_at=0.5,
    )
    follow = sla_follow_up(urgent, ticket(priority=Priority.URGENT), CREATED, is_new=True)
    assert dict(follow.timers.arm)[FR_BREACH] == CREATED + timedelta(hours=1)


# --- the rating --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "tags", "skip"),
    [
        ("", (), False),
        ("no reply", (), False),
        ("customer confirmed", (), False),
        ("spam", (), True),
        ("Duplicate of #3", (), True),
        ("dup", (), True),
        ("", ("duplicate",), True),
        ("", ("spam", "vip"), True),
        ("spammy", (), False),  # whole words only
    ],
)
def test_closed_without_survey(reason: str, tags: tuple[str, ...], skip: bool) -> None:
    assert closed_without_survey(ticket(Status.CLOSED, tags=tags), reason) is skip


def test_a_survey_only_when_the_ticket_has_just_closed() -> None:
    closed = ticket(Status.CLOSED)
    assert survey_due(Status.RESOLVED, closed, "")
    assert not survey_due(Status.CLOSED, closed, "")  # it was closed already (a message on a closed ticket)
    assert not survey_due(Status.OPEN, ticket(Status.PENDING), "")
    assert not survey_due(Status.OPEN, closed, "duplicate")


def test_close_reason_is_the_last_move_to_closed() -> None:
    assert close_reason([]) == ""
    assert close_reason([StatusChanged(before=Status.NEW, after=Status.OPEN)]) == ""
    assert close_reason([StatusChanged(before=Status.OPEN, after=Status.CLOSED, reason="spam")]) == "spam"
    assert close_reason([StatusChanged(before=Status.OPEN, after=Status.CLOSED)]) == ""


# --- the whole plan, after Ticket methods ------------------------------------------------------------------


def test_plan_after_a_resolution() -> None:
    t = ticket(Status.OPEN, assignee=BOB, first_response_at=CREATED)
    before = t.status
    events = t.resolve("Reset it", NOW, agent=BOB)
    plan = plan_follow_ups(before, t, NOW, RULES, events=events)
    assert plan.timers == TimerPlan(arm=((AUTO_CLOSE, NOW + timedelta(days=7)),), clear=(PENDING_REMINDER,))
    assert not plan.survey and not plan.closed and plan.sla is None and plan.sla_line == ""


def test_plan_after_an_auto_close_asks_for_a_rating() -> None:
    t = ticket(Status.RESOLVED, resolved_at=CREATED)
    events = t.auto_close(NOW)
    plan = plan_follow_ups(Status.RESOLVED, t, NOW, RULES, events=events)
    assert plan.survey and plan.closed
    assert plan.timers == TimerPlan(clear=(AUTO_CLOSE, PENDING_REMINDER))


def test_plan_after_closing_as_spam_skips_the_rating() -> None:
    t = ticket(Status.OPEN)
    events = t.close(NOW, reason="spam")
    plan = plan_follow_ups(Status.OPEN, t, NOW, RULES, events=events)
    assert plan.closed and not plan.survey


def test_plan_for_a_new_ticket_with_sla() -> None:
    plan = plan_follow_ups(None, ticket(), CREATED, RULES, sla=SLA)
    assert plan.timers.clear == ()
    assert [kind for kind, _ in plan.timers.arm] == [FR_WARN, FR_BREACH, RES_WARN, RES_BREACH]
    assert plan.sla_line.startswith("first response due in")
    assert not plan.survey and not plan.closed


def test_plan_orders_sla_timers_before_automation() -> None:
    t = ticket(Status.PENDING, first_response_at=CREATED)
    plan = plan_follow_ups(Status.OPEN, t, NOW, RULES, sla=SLA, sla_state=SlaState(ResolutionClock(None)))
    assert plan.timers.clear == (FR_WARN, FR_BREACH, RES_WARN, RES_BREACH, AUTO_CLOSE)
    assert plan.timers.keep == ((PENDING_REMINDER, NOW + timedelta(hours=48)),)


def test_a_message_on_a_closed_ticket_asks_nothing_again() -> None:
    t = ticket(Status.CLOSED)
    events = t.customer_wrote()
    plan = plan_follow_ups(Status.CLOSED, t, NOW, RULES, events=events)
    assert not plan.survey and not plan.closed
