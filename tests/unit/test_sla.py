"""SLA arithmetic: business hours, holidays, DST changes and the pausable resolution clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.sla import AlwaysOpen, BusinessCalendar, ResolutionClock, Targets, describe, due_moments
from bot.domain.ticket import Status
from bot.sla_config import CalendarConfig, parse_duration

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = {d: (time(9), time(17)) for d in range(5)}
CAL = BusinessCalendar(BERLIN, NINE_TO_FIVE, frozenset({date(2026, 12, 25), date(2026, 12, 28)}))


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def test_friday_afternoon_rolls_over_the_weekend() -> None:
    # Friday 16:00, two working hours: one on Friday, one on Monday morning
    assert CAL.add(berlin(2026, 11, 6, 16, 0), timedelta(hours=2)) == berlin(2026, 11, 9, 10, 0)
    assert CAL.elapsed(berlin(2026, 11, 6, 16, 0), berlin(2026, 11, 9, 10, 0)) == timedelta(hours=2)


def test_outside_hours_the_clock_starts_at_opening() -> None:
    assert CAL.add(berlin(2026, 11, 3, 20, 0), timedelta(minutes=15)) == berlin(2026, 11, 4, 9, 15)
    assert CAL.elapsed(berlin(2026, 11, 7, 10, 0), berlin(2026, 11, 8, 18, 0)) == timedelta(0)  # a weekend


def test_holidays_are_skipped() -> None:
    # Thursday 24 Dec 16:00 + 3h: 1h on Thursday, Friday 25th is a holiday, Monday 28th too → Tuesday 11:00
    assert CAL.add(berlin(2026, 12, 24, 16, 0), timedelta(hours=3)) == berlin(2026, 12, 29, 11, 0)


def test_dst_end_keeps_working_hours_local() -> None:
    # Berlin leaves summer time on Sunday 25 Oct 2026: Friday is UTC+2, Monday UTC+1
    start = berlin(2026, 10, 23, 16, 30)
    due = CAL.add(start, timedelta(hours=4))
    assert due == berlin(2026, 10, 26, 12, 30)  # 30 minutes on Friday, 3h30 on Monday
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 11, 30, tzinfo=UTC)
    assert start.astimezone(UTC) == datetime(2026, 10, 23, 14, 30, tzinfo=UTC)


def test_a_round_the_clock_calendar_counts_the_short_dst_day_as_23_hours() -> None:
    every_day = BusinessCalendar(BERLIN, {d: (time(0), time(23, 59, 59, 999_999)) for d in range(7)})
    spring = every_day.elapsed(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0))
    assert timedelta(hours=22, minutes=59) < spring < timedelta(hours=23)
    assert AlwaysOpen().elapsed(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == timedelta(hours=23)


def test_pending_pauses_the_resolution_clock() -> None:
    targets = Targets(timedelta(hours=1), timedelta(hours=8), CAL)
    created = berlin(2026, 11, 2, 9, 0)  # Monday
    clock = ResolutionClock(running_since=created)
    due = due_moments(targets, 0.8, created, None, clock, Status.NEW)
    assert due.resolution == berlin(2026, 11, 2, 17, 0)
    assert due.first_response == berlin(2026, 11, 2, 10, 0)
    assert due.first_response_warn == berlin(2026, 11, 2, 9, 48)
    # two working hours used, then pending (waiting on the customer) until Tuesday 09:00
    clock = clock.follow(Status.PENDING, berlin(2026, 11, 2, 11, 0), CAL)
    assert clock.used == timedelta(hours=2) and clock.running_since is None
    paused = due_moments(targets, 0.8, created, berlin(2026, 11, 2, 9, 30), clock, Status.PENDING)
    assert paused.resolution is None and paused.paused
    assert "paused" in describe(paused, berlin(2026, 11, 2, 12, 0))
    clock = clock.follow(Status.OPEN, berlin(2026, 11, 3, 9, 0), CAL)
    resumed = due_moments(targets, 0.8, created, berlin(2026, 11, 2, 9, 30), clock, Status.OPEN)
    assert resumed.resolution == berlin(2026, 11, 3, 15, 0)  # 6 working hours left
    assert resumed.first_response is None  # met
    assert describe(resumed, berlin(2026, 11, 3, 16, 0)) == "resolution overdue by 1h 0m"


def test_resolved_pauses_and_reopen_continues() -> None:
    clock = ResolutionClock(running_since=datetime(2026, 11, 2, 9, tzinfo=UTC))
    cal = AlwaysOpen()
    clock = clock.follow(Status.RESOLVED, datetime(2026, 11, 2, 10, tzinfo=UTC), cal)
    clock = clock.follow(Status.OPEN, datetime(2026, 11, 5, 10, tzinfo=UTC), cal)
    assert clock.moment(timedelta(hours=4), cal) == datetime(2026, 11, 5, 13, tzinfo=UTC)


def test_calendar_config_is_validated() -> None:
    with pytest.raises(ValueError, match="not a known timezone"):
        CalendarConfig(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="end must come after the start"):
        CalendarConfig(hours={"mon": "17:00-09:00"})
    with pytest.raises(ValueError, match="not a weekday"):
        CalendarConfig(hours={"monday": "09:00-17:00"})
    assert parse_duration("1d 12h") == timedelta(hours=36)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(BERLIN)).map(
    lambda d: d.astimezone(UTC)
)
amounts = st.integers(min_value=0, max_value=200 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=150, deadline=None)
@given(start=moments, amount=amounts)
def test_add_then_elapsed_gives_the_amount_back(start: datetime, amount: timedelta) -> None:
    due = CAL.add(start, amount)
    assert due >= start
    assert CAL.elapsed(start, due) == amount


@settings(max_examples=150, deadline=None)
@given(a=moments, b=moments, c=moments)
def test_elapsed_is_additive_and_bounded(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert CAL.elapsed(a, c) == CAL.elapsed(a, b) + CAL.elapsed(b, c)
    assert timedelta(0) <= CAL.elapsed(a, c) <= c - a
    assert CAL.elapsed(c, a) == -CAL.elapsed(a, c)


@settings(max_examples=100, deadline=None)
@given(start=moments, first=amounts, pause=st.integers(0, 96 * 60), target=amounts)
def test_a_pause_never_counts_toward_resolution(
    start: datetime, first: timedelta, pause: int, target: timedelta
) -> None:
    cal = AlwaysOpen()
    clock = ResolutionClock(running_since=start).follow(Status.PENDING, start + first, cal)
    resumed_at = start + first + timedelta(minutes=pause)
    clock = clock.follow(Status.OPEN, resumed_at, cal)
    due = clock.moment(target, cal)
    assert due is not None
    assert due == max(resumed_at, start + target + timedelta(minutes=pause))
