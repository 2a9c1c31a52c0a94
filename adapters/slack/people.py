"""Who is who on Slack: display names from `users.info` (cached) and roles from user groups.

`GroupRoles` is a `RoleSource`: `role_of` is answered from memory; `refresh` (run periodically by the
adapter) reloads the members of the configured groups with `usergroups.users.list`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.translate import PLATFORM, user
from bot.domain.refs import UserRef
from bot.domain.roles import Role

log = logging.getLogger(__name__)


class Directory:
    """Display names, fetched once per person and kept for `ttl` seconds."""

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
    """Members of `[slack] agent_groups` are agents, of `lead_groups` leads (on top of `[roles]`)."""

    def __init__(self, client: AsyncWebClient, agent_groups: Sequence[str], lead_groups: Sequence[str]) -> None:
        self.client = client
        self.groups = {Role.AGENT: tuple(agent_groups), Role.LEAD: tuple(lead_groups)}
        self._roles: dict[str, Role] = {}

    def role_of(self, person: UserRef) -> Role | None:
        if person.platform != PLATFORM:
            return None
        return self._roles.get(person.id)

    async def refresh(self) -> None:
        """Reload every group. A group that fails keeps its previous members (logged once per refresh)."""
        roles: dict[str, Role] = {}
        previous = dict(self._roles)
        for role, groups in self.groups.items():
            for group in groups:
                try:
                    response = await self.client.usergroups_users_list(usergroup=group)
                    members = [str(u) for u in response.get("users") or ()]
                except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
                    failed = getattr(exc, "response", None)
                    error = failed.get("error") if failed is not None and isinstance(failed.data, dict) else exc
                    log.warning("usergroups.users.list %s failed (%s); keeping the last known members", group, error)
                    members = [uid for uid, r in previous.items() if r is role]
                for member in members:
                    if member not in roles or role.rank > roles[member].rank:
                        roles[member] = role
        self._roles = roles
