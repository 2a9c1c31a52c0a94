"""Roles from guild membership: members holding an `agent_roles` / `lead_roles` / `admin_roles` role are
agents / leads / admins (the highest one counts), and the members of a team that names `discord:role:…` are
the people holding that role.

Member role lists arrive with every guild message and interaction, so the bot learns them as people act
instead of needing the privileged members intent; the person running a command has always just been seen.
A team's role is also listed in full (`GET /guilds/{id}/members`) when the application has the Server
Members Intent, so its people can be handed tickets before they have written (see `TeamRoleLister`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import discord

from adapters.discord.translate import PLATFORM
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.teams_config import TeamConfig, member_group
from bot.teams_config import team_groups as team_group_keys

log = logging.getLogger(__name__)

MAX_REMEMBERED = 100_000


def team_roles(teams: Sequence[TeamConfig]) -> list[str]:
    """The role ids `[[teams]] members` name as `discord:role:…`; a Discord entry Discord can't have is a
    startup error that names the fix."""
    for team in teams:
        for key in team.members:
            found = member_group(key)
            if found is None or found[0] != PLATFORM:
                continue
            kind, _, role_id = found[1].partition(":")
            if kind != "role" or not role_id.isdigit():
                raise ValueError(
                    f"[[teams]] {team.name}: members {key!r} — Discord has roles, written "
                    "'discord:role:123456789012345678' (the role's id: Server Settings → Roles → ⋯ → Copy Role ID, "
                    "in developer mode), as in [discord] agent_roles"
                )
    return [g.partition(":")[2] for g in team_group_keys(teams, PLATFORM)]


class GuildRoles:
    """A `RoleSource`: the desk role implied by each member's guild roles (config lists still apply). And a
    `GroupMembers` source: who holds the roles the teams name."""

    platform = PLATFORM

    def __init__(
        self,
        agent_roles: Iterable[str],
        lead_roles: Iterable[str],
        guild_id: str | None = None,
        admin_roles: Iterable[str] = (),
        team_roles: Iterable[str] = (),
    ) -> None:
        self.agent_roles = frozenset(agent_roles)
        self.lead_roles = frozenset(lead_roles)
        self.admin_roles = frozenset(admin_roles)
        self.team_roles = frozenset(team_roles)
        self.guild_id = guild_id
        self._members: OrderedDict[str, Role | None] = OrderedDict()
        #: the teams' roles each member holds (only members holding one), for `members_of`
        self._teams: dict[str, frozenset[str]] = {}

    def learn(self, user_id: str, role_ids: Iterable[str]) -> None:
        ids = set(role_ids)
        role: Role | None = None
        if ids & self.admin_roles:
            role = Role.ADMIN
        elif ids & self.lead_roles:
            role = Role.LEAD
        elif ids & self.agent_roles:
            role = Role.AGENT
        self._members[user_id] = role
        self._members.move_to_end(user_id)
        while len(self._members) > MAX_REMEMBERED:
            forgotten, _ = self._members.popitem(last=False)
            self._teams.pop(forgotten, None)
        held = frozenset(ids & self.team_roles)
        if held:
            self._teams[user_id] = held
        else:
            self._teams.pop(user_id, None)

    def learn_listed(self, members: Iterable[Mapping[str, Any]]) -> None:
        """Guild members as `GET /guilds/{id}/members` lists them (`user`, `roles`)."""
        for member in members:
            user = member.get("user") or {}
            if user.get("id") is not None and not user.get("bot"):
                self.learn(str(user["id"]), (str(r) for r in member.get("roles") or ()))

    def members_of(self, group: str) -> list[str]:
        """`role:1234`: who holds the role, as far as seen (listed, or since they last wrote or ran a command),
        in the order of their ids (the order Discord lists members in)."""
        kind, _, role_id = group.partition(":")
        if kind != "role":
            return []
        return sorted((uid for uid, held in self._teams.items() if role_id in held), key=int)

    def team_members(self) -> list[str]:
        return sorted(self._teams, key=int)

    def keep_team_members(self, in_guild: set[str]) -> None:
        """After a full listing: who was not in it has left the guild."""
        self._teams = {uid: held for uid, held in self._teams.items() if uid in in_guild}

    def learn_member(self, user: Any) -> None:
        """From a discord.py `Member` of our guild (a `User` — e.g. in a DM — carries no roles)."""
        if not isinstance(user, discord.Member):
            return
        if self.guild_id is not None and str(user.guild.id) != self.guild_id:
            return
        self.learn(str(user.id), (str(r.id) for r in user.roles))

    def knows(self, user_id: str) -> bool:
        """Whether this member's roles were seen (a message read back from history carries none)."""
        return user_id in self._members

    def role_of(self, user: UserRef) -> Role | None:
        if user.platform != PLATFORM:
            return None
        return self._members.get(user.id)


def listed_name(member: Mapping[str, Any]) -> str:
    user = member.get("user") or {}
    return str(member.get("nick") or user.get("global_name") or user.get("username") or user.get("id"))


async def list_members(
    http: discord.http.HTTPClient, roles: GuildRoles, *, also: Iterable[str] = (), page_size: int = 1000
) -> list[UserRef] | None:
    """List the guild's members (`GET /guilds/{id}/members`, paged by id) into `roles`; members no longer in the
    guild stop counting for the teams. Returns the teams' people (and those in `also`) with their names, or
    None when Discord refuses (the application lacks the Server Members Intent)."""
    wanted = set(also)
    assert roles.guild_id is not None
    after: str | None = None
    seen: set[str] = set()
    people: list[UserRef] = []
    while True:
        try:
            page = await http.get_members(roles.guild_id, page_size, after)
        except discord.Forbidden:
            return None
        roles.learn_listed(page)
        for member in page:
            uid = str((member.get("user") or {}).get("id"))
            seen.add(uid)
            if uid in wanted or set(map(str, member.get("roles") or ())) & roles.team_roles:
                people.append(UserRef(platform=PLATFORM, id=uid, name=listed_name(member)))
        if len(page) < page_size:
            break
        after = str(page[-1]["user"]["id"])
    roles.keep_team_members(seen)
    return people


async def look_up(http: discord.http.HTTPClient, guild_id: str | None, user_ids: Iterable[str]) -> list[UserRef]:
    """People by id, one request each (no intent needed): their names as the server shows them."""
    found: list[UserRef] = []
    for uid in user_ids:
        try:
            member = await http.get_member(guild_id, uid) if guild_id else {"user": await http.get_user(uid)}
        except discord.HTTPException as exc:
            log.warning("discord: %s not found (%s %s); shown by id", uid, exc.status, exc.text)
            continue
        found.append(UserRef(platform=PLATFORM, id=uid, name=listed_name(member)))
    return found
