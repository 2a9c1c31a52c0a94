"""Who gets the next ticket: round-robin or least-loaded among the available members. Pure.

Available: not away (`/agent away`), inside the team's business hours, and below `max_open_per_agent`.
Round-robin continues after the member who got the last ticket (the pointer lives in the database, so a
restart or a second process continues the same rotation); least-loaded takes the member with the fewest
open assigned tickets, ties going to whoever comes next in the rotation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    key: str  # "platform:user-id"
    away: bool = False
    open_tickets: int = 0


def available(candidates: Sequence[Candidate], cap: int | None) -> list[Candidate]:
    return [c for c in candidates if not c.away and (cap is None or c.open_tickets < cap)]


def rotation(members: Sequence[str], last: str | None) -> list[str]:
    """`members` starting after `last` (from the top when `last` is unknown or None)."""
    if last is None or last not in members:
        return list(members)
    at = members.index(last) + 1
    return [*members[at:], *members[:at]]


def round_robin(candidates: Sequence[Candidate], last: str | None, cap: int | None) -> str | None:
    free = {c.key for c in available(candidates, cap)}
    return next((key for key in rotation([c.key for c in candidates], last) if key in free), None)


def least_loaded(candidates: Sequence[Candidate], last: str | None, cap: int | None) -> str | None:
    free = available(candidates, cap)
    if not free:
        return None
    order = {key: i for i, key in enumerate(rotation([c.key for c in candidates], last))}
    return min(free, key=lambda c: (c.open_tickets, order[c.key])).key


def load_of(open_by_agent: Mapping[str, int], key: str) -> int:
    return open_by_agent.get(key, 0)
