"""The incident aggregate: one outage that many tickets report, with its status flow and public update log.

An incident is worked like a status page entry: `investigating → identified → monitoring → resolved`.
Any open status may move to any other open status (a fix that does not hold goes back from monitoring to
investigating); `resolved` is reached only with `/incident resolve ID <summary>`, which resolves every
linked ticket with that summary, and is final — a new outage is a new incident.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from bot.domain.errors import CommandError, IllegalTransition
from bot.domain.refs import MessageRef, UserRef


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        return self is not IncidentStatus.RESOLVED


OPEN_STATUSES = tuple(s for s in IncidentStatus if s.is_open)

_ID = re.compile(r"(?:inc-?|#)?(\d{1,9})", re.IGNORECASE)


def parse_incident_id(word: str) -> int:
    """`INC-3`, `inc3`, `#3` or `3` → 3."""
    match = _ID.fullmatch(word.strip())
    if not match:
        raise CommandError(f"“{word[:40]}” is not an incident id (e.g. INC-3). See `/incident list`.")
    return int(match.group(1))


def parse_status(word: str) -> IncidentStatus:
    value = word.strip().lower()
    for status in IncidentStatus:
        if status.value == value:
            return status
    valid = ", ".join(s.value for s in IncidentStatus)
    raise CommandError(f"“{word[:40]}” is not an incident status. Valid statuses: {valid}.")


def check_status_change(ref: str, current: IncidentStatus, target: IncidentStatus) -> None:
    if not current.is_open:
        raise IllegalTransition(f"{ref} is resolved — a new outage is a new incident: `/incident new <title>`.")
    if target is IncidentStatus.RESOLVED:
        number = ref.removeprefix("INC-")
        raise IllegalTransition(
            f"Resolving {ref} resolves every linked ticket and needs a summary: `/incident resolve {number} <summary>`."
        )
    if target is current:
        raise IllegalTransition(f"{ref} is already {current.value}.")


class Incident(BaseModel):
    id: int
    platform: str
    title: str
    status: IncidentStatus = IncidentStatus.INVESTIGATING
    owner: UserRef | None = None
    created_at: datetime
    updated_at: datetime
    first_report_at: datetime | None = None  # the earliest linked report: time to detect = created - first
    resolved_at: datetime | None = None
    resolution: str | None = None
    card: MessageRef | None = None
    source: str = "agent"  # agent | detected (a proposal accepted) | auto (auto_create)

    @property
    def ref(self) -> str:
        return f"INC-{self.id}"

    @property
    def is_open(self) -> bool:
        return self.status.is_open


class IncidentUpdate(BaseModel):
    """One entry of the public update log (what linked customers were told)."""

    at: datetime
    author: UserRef
    status: IncidentStatus
    text: str
