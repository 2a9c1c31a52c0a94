"""The team leads' tables: `[sla]`, `[digests]` and `[automation]`, validated with clear errors.

Durations are written as people say them: `15m`, `4h`, `1d`, `1d 12h`. Business hours are a weekly
calendar in one timezone (`mon = "09:00-17:00"`), with holidays as ISO dates.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.sla import WEEKDAYS, AlwaysOpen, BusinessCalendar, Calendar, SlaPolicy, Targets
from bot.domain.ticket import Priority

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def parse_duration(text: str) -> timedelta:
    """`15m`, `4h`, `1d 12h` → timedelta. Raises ValueError with the accepted forms."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration; write e.g. '15m', '4h', '3d' or '1d 12h'")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a known timezone (e.g. 'UTC', 'Europe/Berlin')") from exc
    return name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetConfig(_Strict):
    first_response: str
    resolution: str
    business_hours: bool | None = Field(default=None, description="unset: the [sla] business_hours default")

    @field_validator("first_response", "resolution")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class CalendarConfig(_Strict):
    timezone: str = "UTC"
    hours: dict[str, str] = Field(
        default_factory=lambda: {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    holidays: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _zone(value)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        for day, span in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday; use {', '.join(WEEKDAYS)}")
            _span(span)
        if not value:
            raise ValueError("at least one day needs business hours")
        return value

    def build(self) -> BusinessCalendar:
        weekly = {WEEKDAYS.index(day): _span(span) for day, span in self.hours.items()}
        return BusinessCalendar(ZoneInfo(self.timezone), weekly, frozenset(self.holidays))


def _span(text: str) -> tuple[time, time]:
    match = _HOURS.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an opening span; write e.g. '09:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (0 <= h1 <= 23 and 0 <= m1 <= 59 and 0 <= h2 <= 24 and 0 <= m2 <= 59) or (h2 == 24 and m2):
        raise ValueError(f"{text!r} has an impossible time")
    start = time(h1, m1)
    end = time(23, 59, 59, 999_999) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"{text!r}: the end must come after the start (same day)")
    return start, end


def _default_targets() -> dict[Priority, TargetConfig]:
    return {
        Priority.URGENT: TargetConfig(first_response="15m", resolution="4h", business_hours=False),
        Priority.HIGH: TargetConfig(first_response="1h", resolution="1d"),
        Priority.NORMAL: TargetConfig(first_response="4h", resolution="3d"),
        Priority.LOW: TargetConfig(first_response="1d", resolution="7d"),
    }


class SlaConfig(_Strict):
    enabled: bool = True
    warn_at: float = Field(default=0.8, gt=0, lt=1, description="share of a target elapsed before the warning")
    business_hours: bool = Field(default=False, description="count targets in [sla.calendar] hours only")
    late_after: str = Field(default="5m", description="an alert this much after its moment says it is late")
    calendar: CalendarConfig = CalendarConfig()
    targets: dict[Priority, TargetConfig] = Field(default_factory=_default_targets)

    @field_validator("late_after")
    @classmethod
    def _late(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("targets", mode="before")
    @classmethod
    def _defaults_for_the_rest(cls, value: object) -> object:
        """Priorities left out keep their default targets."""
        if isinstance(value, dict):
            return {**{p.value: t for p, t in _default_targets().items()}, **value}
        return value

    def policy(self) -> SlaPolicy:
        business = self.calendar.build()
        always = AlwaysOpen()
        targets: dict[Priority, Targets] = {}
        for priority, target in self.targets.items():
            in_hours = self.business_hours if target.business_hours is None else target.business_hours
            calendar: Calendar = business if in_hours else always
            targets[priority] = Targets(
                first_response=parse_duration(target.first_response),
                resolution=parse_duration(target.resolution),
                calendar=calendar,
            )
        return SlaPolicy(targets=targets, warn_at=self.warn_at, late_after=parse_duration(self.late_after))


class DigestSchedule(_Strict):
    cron: str = Field(description="five-field cron in the [digests] timezone, e.g. '0 9 * * 1-5'")
    platform: str
    channel: str | None = Field(default=None, description="unset: the platform's leads_channel")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a five-field cron expression (e.g. '0 9 * * 1-5')")
        return value


class DigestsConfig(_Strict):
    timezone: str = "UTC"
    charts_dir: str | None = Field(
        default=None, description="where chart PNGs are written (relative: to the config); unset: beside the database"
    )
    schedules: tuple[DigestSchedule, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _zone(value)


class AutomationConfig(_Strict):
    auto_close_days: float = Field(default=7, ge=0, description="close resolved tickets after N quiet days; 0 = off")
    pending_reminder_hours: float = Field(default=48, ge=0, description="remind the customer; 0 = off")
    pending_reminders: int = Field(default=2, ge=0, le=10, description="at most this many reminders per wait")
