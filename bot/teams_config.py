"""`[[teams]]`: who works which tickets, where their cards go, and how tickets are handed out.

```toml
[[teams]]
name = "billing"
members = ["slack:U0123BOB", "slack:U0456ERIN"]   # people, "platform:user-id" (the rotation's order)
# or whole groups, kept up to date by the platform: "slack:group:S0123ABCD" (a user group, as in
# [slack] agent_groups), "discord:role:123456789012345678" (a role, as in [discord] agent_roles)
categories = ["billing"]                          # tickets of these categories come to this team
queue_channel = "C0BILLING"                       # optional: the team's own queue (else the platform's)
assignment = "round_robin"                        # "manual" | "round_robin" | "least_loaded"
max_open_per_agent = 10                           # optional: agents at this many open tickets are skipped
escalate_to = "billing-tier2"                     # optional: `/ticket escalate` hands the ticket over
[teams.business_hours]                            # optional, the SLA calendar format: outside = away
timezone = "Europe/Berlin"
hours = { mon = "09:00-17:00", tue = "09:00-17:00" }
```
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.sla_config import CalendarConfig

USER_KEY = re.compile(r"^[a-z][a-z0-9_-]*:[^\s:]+$")
#: a group of people a platform keeps: `slack:group:S0123ABCD`, `discord:role:1234…`
GROUP_KEY = re.compile(r"^(?P<platform>[a-z][a-z0-9_-]*):(?P<group>(?:group|role):[^\s:]+)$")
TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


class Assignment(StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


class TeamConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    members: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    intake_channels: tuple[str, ...] = Field(default=(), description="tickets opened in these channels")
    customers: tuple[str, ...] = Field(default=(), description="'platform:user-id' of customers it serves")
    queue_channel: str | None = None
    assignment: Assignment = Assignment.MANUAL
    max_open_per_agent: int | None = Field(default=None, ge=1)
    business_hours: CalendarConfig | None = None
    escalate_to: str | None = None

    @field_validator("name", "escalate_to")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not TEAM_NAME.match(value):
            raise ValueError(f"{value!r} is not a team name: lowercase letters, digits, - _ . (e.g. 'billing')")
        return value

    @field_validator("members")
    @classmethod
    def _members(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not USER_KEY.match(item) and not GROUP_KEY.match(item):
                raise ValueError(
                    f"{item!r} is not 'platform:user-id' (e.g. 'slack:U0123', 'discord:1234'), a Slack user group "
                    "('slack:group:S0123ABCD') or a Discord role ('discord:role:1234')"
                )
        return value

    @field_validator("customers")
    @classmethod
    def _customers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not USER_KEY.match(item):
                raise ValueError(f"{item!r} is not 'platform:user-id'")
        return value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(c.lower() for c in value)


def member_group(key: str) -> tuple[str, str] | None:
    """`("slack", "group:S0123")` for a member entry naming a group, None for one naming a person."""
    found = GROUP_KEY.match(key)
    return (found["platform"], found["group"]) if found else None


def team_groups(teams: Sequence[TeamConfig], platform: str) -> list[str]:
    """The groups (`group:S0123`, `role:1234`) the teams name on `platform`, each once, in config order."""
    found = (member_group(key) for team in teams for key in team.members)
    return list(dict.fromkeys(g[1] for g in found if g is not None and g[0] == platform))


def check_teams(teams: tuple[TeamConfig, ...], rule_teams: list[str | None]) -> list[str]:
    """Problems across teams: duplicate names, unknown `escalate_to`, intake rules naming no team."""
    problems: list[str] = []
    names = [t.name for t in teams]
    for i, team in enumerate(teams):
        if names.index(team.name) != i:
            problems.append(f"teams.{i}.name: {team.name!r} is used by another team too")
        if team.escalate_to is not None and team.escalate_to not in names:
            problems.append(f"teams.{i}.escalate_to: no team is named {team.escalate_to!r}")
        if team.escalate_to == team.name:
            problems.append(f"teams.{i}.escalate_to: a team can't escalate to itself")
        if team.assignment is not Assignment.MANUAL and not team.members:
            problems.append(f"teams.{i}.members: {team.assignment.value} assignment needs members")
    known = ", ".join(dict.fromkeys(names)) or "none"
    for i, name in enumerate(rule_teams):
        if name is not None and name not in names:
            problems.append(f"intake.rules.{i}.team: no team is named {name!r} (teams: {known})")
    return problems
