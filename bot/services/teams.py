"""The configured teams, looked up: which team a new ticket goes to, who its members are, where its cards go.

Routing a new ticket, first match wins: the customer (`customers`), the intake channel (`intake_channels`),
a keyword rule naming a team (`[[intake.rules]] team`), the ticket's category (`categories`). A ticket
that matches no team stays in the platform's queue, assigned by hand.

Members are people (`slack:U0123`) or groups the platform keeps (`slack:group:S0123`, `discord:role:1234`),
looked up through the adapters' `GroupMembers` sources each time, so a person added to the user group or given
the role is a member as soon as the platform has told. Every member is at least an agent (the directory is a
`RoleSource` too): a ticket is never handed to someone who could not work it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.ports import GroupMembers
from bot.teams_config import TeamConfig, member_group


class TeamDirectory:
    def __init__(self, teams: Sequence[TeamConfig] = (), groups: Sequence[GroupMembers] = ()) -> None:
        self.teams = tuple(teams)
        self._by_name = {t.name: t for t in self.teams}
        self._groups: dict[str, list[GroupMembers]] = {}
        for source in groups:
            self.add_source(source)

    def add_source(self, source: GroupMembers) -> None:
        self._groups.setdefault(source.platform, []).append(source)

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
        """User ids of `team`'s members on `platform`, in config order; a group's people where it stands, in
        the platform's order. Each once."""
        prefix = platform + ":"
        found: dict[str, None] = {}
        for key in team.members:
            if not key.startswith(prefix):
                continue
            group = member_group(key)
            if group is None:
                found[key.removeprefix(prefix)] = None
                continue
            for source in self._groups.get(platform, ()):
                found.update(dict.fromkeys(source.members_of(group[1])))
        return list(found)

    def people(self, platform: str) -> list[str]:
        """User ids of every team's members on `platform` (`members`, team after team), each once."""
        return list(dict.fromkeys(m for t in self.teams for m in self.members(t, platform)))

    def teams_of(self, person: UserRef) -> list[TeamConfig]:
        return [t for t in self.teams if person.id in self.members(t, person.platform)]

    def role_of(self, user: UserRef) -> Role | None:
        """A `RoleSource`: a team's members are agents (at least; `[roles]` and the platforms may say more)."""
        return Role.AGENT if any(user.id in self.members(t, user.platform) for t in self.teams) else None

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
