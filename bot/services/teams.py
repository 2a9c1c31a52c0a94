"""The configured teams, looked up: which team a new ticket goes to, who its members are, where its cards go.

Routing a new ticket, first match wins: the customer (`customers`), the intake channel (`intake_channels`),
a keyword rule naming a team (`[[intake.rules]] team`), the ticket's category (`categories`). A ticket
that matches no team stays in the platform's queue, assigned by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.refs import UserRef
from bot.teams_config import TeamConfig


class TeamDirectory:
    def __init__(self, teams: Sequence[TeamConfig] = ()) -> None:
        self.teams = tuple(teams)
        self._by_name = {t.name: t for t in self.teams}

    def __bool__(self) -> bool:
        return bool(self.teams)

    def get(self, name: str | None) -> TeamConfig | None:
        return self._by_name.get(name) if name else None

    def names(self) -> list[str]:
        return [t.name for t in self.teams]

    def route(self, customer: UserRef, channel: str, rule_team: str | None, category: str) -> TeamConfig | None:
        for team in self.teams:
            if customer.key in team.customers:
                return team
        for team in self.teams:
            here = (channel, f"{customer.platform}:{channel}")
            if channel and any(c in team.intake_channels for c in here):
                return team
        if rule_team and rule_team in self._by_name:
            return self._by_name[rule_team]
        return next((t for t in self.teams if category.lower() in t.categories), None)

    def members(self, team: TeamConfig, platform: str) -> list[str]:
        """User ids of `team`'s members on `platform`, in config order."""
        prefix = platform + ":"
        return list(dict.fromkeys(k.removeprefix(prefix) for k in team.members if k.startswith(prefix)))

    def teams_of(self, person: UserRef) -> list[TeamConfig]:
        return [t for t in self.teams if person.id in self.members(t, person.platform)]

    def queue_channel(self, name: str | None, platform: str) -> str | None:
        """The team's own queue channel on `platform` (`"slack:C0…"`, or a bare id meaning any platform)."""
        team = self.get(name)
        if team is None or not team.queue_channel:
            return None
        head, sep, rest = team.queue_channel.partition(":")
        if sep and not rest.startswith("//"):
            return rest if head == platform else None
        return team.queue_channel


def open_hours(team: TeamConfig, now: datetime) -> bool:
    """Inside the team's business hours (always, without them)."""
    if team.business_hours is None:
        return True
    calendar = team.business_hours.build()
    return calendar.elapsed(now, now + timedelta(seconds=1)) > timedelta(0)
