"""Roles from guild membership: members holding an `agent_roles` / `lead_roles` / `admin_roles` role are
agents / leads / admins (the highest one counts).

Member role lists arrive with every guild message and interaction, so the bot learns them as people act
instead of needing the privileged members intent; the person running a command has always just been seen.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import discord

from adapters.discord.translate import PLATFORM
from bot.domain.refs import UserRef
from bot.domain.roles import Role

MAX_REMEMBERED = 100_000


class GuildRoles:
    """A `RoleSource`: the desk role implied by each member's guild roles (config lists still apply)."""

    def __init__(
        self,
        agent_roles: Iterable[str],
        lead_roles: Iterable[str],
        guild_id: str | None = None,
        admin_roles: Iterable[str] = (),
    ) -> None:
        self.agent_roles = frozenset(agent_roles)
        self.lead_roles = frozenset(lead_roles)
        self.admin_roles = frozenset(admin_roles)
        self.guild_id = guild_id
        self._members: OrderedDict[str, Role | None] = OrderedDict()

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
            self._members.popitem(last=False)

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
