"""SLA arithmetic, pure: targets per priority, business-hours calendars, pausable clocks, due moments.

All moments are timezone-aware. A calendar counts working time between two moments and finds the moment a
given amount of working time after a start. `AlwaysOpen` is the 24/7 clock; `BusinessCalendar` opens on
weekly hours in one timezone (DST handled by zoneinfo: a 09:00–17:00 day is 8 hours on both sides of a
change) and stays shut on holidays.

The resolution clock pauses while the ticket waits on the customer (`pending`) and while it is resolved
or closed; it keeps the working time already used, so a reopened ticket continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain.ticket import Priority, Status, humanize_span

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZERO = timedelta(0)
#: How far a calendar looks ahead for working time before giving up (a calendar shut for ten years).
_HORIZON_DAYS = 3_660


class Calendar(Protocol):
    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (negative when `end` is earlier)."""
        ...

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of working time after `start` (`start` itself for zero or less)."""
        ...


class AlwaysOpen:
    """Every hour counts."""

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        # in UTC: Python subtracts two moments of the same zone by their wall clocks, ignoring DST
        return end.astimezone(UTC) - start.astimezone(UTC)

    def add(self, start: datetime, amount: timedelta) -> datetime:
        return (start.astimezone(UTC) + max(amount, ZERO)).astimezone(start.tzinfo)


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    weekly: Mapping[int, tuple[time, time]]  # weekday (0 = Monday) -> opening, closing in local time
    holidays: frozenset[date] = frozenset()

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if day in self.holidays or day.weekday() not in self.weekly:
            return None
        opens, closes = self.weekly[day.weekday()]
        start = datetime.combine(day, opens, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(day, closes, tzinfo=self.zone).astimezone(UTC)
        return (start, end) if end > start else None

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        start, end = start.astimezone(UTC), end.astimezone(UTC)  # see AlwaysOpen.elapsed
        if end < start:
            return -self.elapsed(end, start)
        total = ZERO
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            window = self._window(day)
            if window is not None:
                lo, hi = max(window[0], start), min(window[1], end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, amount: timedelta) -> datetime:
        if amount <= ZERO:
            return start
        zone, start = start.tzinfo, start.astimezone(UTC)  # see AlwaysOpen.elapsed
        remaining = amount
        day = self._local_day(start)
        for _ in range(_HORIZON_DAYS):
            window = self._window(day)
            if window is not None and window[1] > start:
                begin = max(window[0], start)
                available = window[1] - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(zone)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("the business calendar has no working time in the next ten years")


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    resolution: timedelta
    calendar: Calendar


@dataclass(frozen=True)
class SlaPolicy:
    targets: Mapping[Priority, Targets]
    warn_at: float = 0.8
    late_after: timedelta = timedelta(minutes=5)

    def for_priority(self, priority: Priority) -> Targets:
        return self.targets[priority]


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Level(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


#: Statuses in which the resolution clock does not run.
PAUSED_STATUSES = frozenset({Status.PENDING, Status.RESOLVED, Status.CLOSED})


@dataclass(frozen=True)
class ResolutionClock:
    """Working time used so far, and since when it has been running (None while paused)."""

    used: timedelta = ZERO
    running_since: datetime | None = None

    def pause(self, now: datetime, calendar: Calendar) -> ResolutionClock:
        if self.running_since is None:
            return self
        return ResolutionClock(used=self.used + calendar.elapsed(self.running_since, now), running_since=None)

    def resume(self, now: datetime) -> ResolutionClock:
        return self if self.running_since is not None else replace(self, running_since=now)

    def follow(self, status: Status, now: datetime, calendar: Calendar) -> ResolutionClock:
        """Pause or resume to match the ticket's status."""
        return self.pause(now, calendar) if status in PAUSED_STATUSES else self.resume(now)

    def moment(self, share_of: timedelta, calendar: Calendar) -> datetime | None:
        """When the clock reaches `share_of` working time, or None while paused."""
        if self.running_since is None:
            return None
        return calendar.add(self.running_since, share_of - self.used)

    def used_at(self, now: datetime, calendar: Calendar) -> timedelta:
        if self.running_since is None:
            return self.used
        return self.used + calendar.elapsed(self.running_since, now)


@dataclass(frozen=True)
class Due:
    """A ticket's due moments under its targets. None: met, or (resolution) paused."""

    first_response: datetime | None
    resolution: datetime | None
    first_response_warn: datetime | None
    resolution_warn: datetime | None
    paused: bool = False


def due_moments(
    targets: Targets,
    warn_at: float,
    created_at: datetime,
    first_response_at: datetime | None,
    clock: ResolutionClock,
    status: Status,
) -> Due:
    cal = targets.calendar
    responded = first_response_at is not None or not status.is_active
    fr = None if responded else cal.add(created_at, targets.first_response)
    fr_warn = None if responded else cal.add(created_at, targets.first_response * warn_at)
    active = status.is_active
    res = clock.moment(targets.resolution, cal) if active else None
    res_warn = clock.moment(targets.resolution * warn_at, cal) if active else None
    return Due(fr, res, fr_warn, res_warn, paused=active and clock.running_since is None)


def describe(due: Due, now: datetime) -> str:
    """`first response due in 12m · resolution due in 3d 2h`, or overdue, or paused — for cards."""
    parts: list[str] = []
    for what, moment in (("first response", due.first_response), ("resolution", due.resolution)):
        if moment is None:
            continue
        if moment > now:
            parts.append(f"{what} due in {_span(moment - now)}")
        else:
            parts.append(f"{what} overdue by {_span(now - moment)}")
    if due.paused:
        parts.append("resolution clock paused (waiting on the customer)")
    return " · ".join(parts)


def _span(delta: timedelta) -> str:
    return humanize_span(delta)
