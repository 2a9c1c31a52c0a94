"""Who is who on Slack: display names from `users.info` (cached), roles and team members from user groups.

`GroupRoles` is a `RoleSource` and a `GroupMembers` source: `role_of` and `members_of` are answered from
memory; `refresh` (run periodically by the adapter) reloads the members of the configured groups — `[slack]
agent_groups`, `lead_groups` and the `slack:group:S…` entries of `[[teams]] members` — with
`usergroups.users.list`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.config import GROUP_ID
from adapters.slack.translate import PLATFORM, user
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.teams_config import TeamConfig, member_group
from bot.teams_config import team_groups as team_group_keys

log = logging.getLogger(__name__)


class Directory:
    """Display names, fetched once per person and kept for `ttl` seconds (`bot.ports.PeopleNames`)."""

    platform = PLATFORM

    def __init__(
        self, client: AsyncWebClient, *, ttl: float = 3600.0, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.ttl = ttl
        self._now = now
        self._names: dict[str, tuple[str, float]] = {}

    async def person(self, user_id: str, hint: str = "") -> UserRef:
        return user(user_id, await self.name(user_id, hint))

    async def name(self, user_id: str, hint: str = "") -> str:
        cached = self._names.get(user_id)
        if cached and self._now() - cached[1] < self.ttl:
            return cached[0]
        try:
            response = await self.client.users_info(user=user_id)
            info = response.get("user") or {}
            profile = info.get("profile") or {}
            name = str(
                profile.get("display_name") or profile.get("real_name") or info.get("real_name") or info.get("name")
            )
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else exc.response.status_code
            log.warning("users.info %s failed (%s); showing the id", user_id, error)
            return hint or user_id  # not cached: try again next time
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("users.info %s: Slack unreachable (%s); showing the id", user_id, type(exc).__name__)
            return hint or user_id
        name = name if name and name != "None" else (hint or user_id)
        if len(self._names) > 20_000:
            self._names.clear()
        self._names[user_id] = (name, self._now())
        return name


class GroupRoles:
    """Members of `[slack] agent_groups` are agents, of `lead_groups` leads (on top of `[roles]`); a team's
    `slack:group:S…` members are the people of that group."""

    platform = PLATFORM

    def __init__(
        self,
        client: AsyncWebClient,
        agent_groups: Sequence[str],
        lead_groups: Sequence[str],
        team_groups: Sequence[str] = (),
    ) -> None:
        self.client = client
        self.groups = {Role.AGENT: tuple(agent_groups), Role.LEAD: tuple(lead_groups)}
        self.team_groups = tuple(team_groups)
        self._roles: dict[str, Role] = {}
        self._members: dict[str, tuple[str, ...]] = {}  # group id -> user ids, in Slack's order

    @property
    def watched(self) -> list[str]:
        """Every group whose members are loaded, each once."""
        return list(dict.fromkeys([*self.groups[Role.AGENT], *self.groups[Role.LEAD], *self.team_groups]))

    def role_of(self, person: UserRef) -> Role | None:
        if person.platform != PLATFORM:
            return None
        return self._roles.get(person.id)

    def members_of(self, group: str) -> tuple[str, ...]:
        """`group:S0123`: the user group's members as Slack last listed them (empty before the first refresh)."""
        kind, _, group_id = group.partition(":")
        return self._members.get(group_id, ()) if kind == "group" else ()

    async def refresh(self) -> None:
        """Reload every group. A group that fails keeps its previous members (logged once per refresh)."""
        members: dict[str, tuple[str, ...]] = {}
        for group in self.watched:
            try:
                response = await self.client.usergroups_users_list(usergroup=group)
                members[group] = tuple(str(u) for u in response.get("users") or ())
            except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
                failed = getattr(exc, "response", None)
                error = failed.get("error") if failed is not None and isinstance(failed.data, dict) else exc
                log.warning("usergroups.users.list %s failed (%s); keeping the last known members", group, error)
                members[group] = self._members.get(group, ())
        roles: dict[str, Role] = {}
        for role, groups in self.groups.items():
            for group in groups:
                for member in members[group]:
                    if member not in roles or role.rank > roles[member].rank:
                        roles[member] = role
        self._members, self._roles = members, roles

    def team_members(self) -> list[str]:
        """The people of the teams' groups, each once."""
        return list(dict.fromkeys(m for g in self.team_groups for m in self._members.get(g, ())))


def team_groups(teams: Sequence[TeamConfig]) -> list[str]:
    """The user-group ids `[[teams]] members` name as `slack:group:S…`; a Slack entry Slack can't have is a
    startup error that names the fix."""
    for team in teams:
        for key in team.members:
            found = member_group(key)
            if found is None or found[0] != PLATFORM:
                continue
            kind, _, group_id = found[1].partition(":")
            if kind != "group" or not GROUP_ID.match(group_id):
                raise ValueError(
                    f"[[teams]] {team.name}: members {key!r} — Slack has user groups, written 'slack:group:S0123ABCD' "
                    "(the user group's id, S…, as in [slack] agent_groups)"
                )
    return [g.partition(":")[2] for g in team_group_keys(teams, PLATFORM)]
