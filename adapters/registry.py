"""The plug point for chat platforms: each adapter package exposes one `AdapterSpec`.

The CLI (composition root) validates every adapter's config table with the adapter's own model, builds
the enabled platforms, hands their role and group-member sources to the core, then runs them next to the
delivery worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.config import PlatformChannels, Settings
from bot.ports import ChatPlatform, GroupMembers, PeopleNames, RoleSource
from bot.services.desk import Desk


class AdapterStartupError(Exception):
    """A setup problem found at start (bad token, missing scope or intent): one clear line, no traceback."""


class RunningAdapter(Protocol):
    """One connected chat platform."""

    platform: ChatPlatform
    role_sources: Sequence[RoleSource]
    #: who is in the groups and roles that `[[teams]] members` name on this platform
    member_sources: Sequence[GroupMembers]
    name_sources: Sequence[PeopleNames]

    @property
    def connected(self) -> bool:
        """Connected to the platform and taking events (for /readyz)."""
        ...

    async def stop_intake(self) -> None:
        """Shutting down: stop taking new events (Slack HTTP answers 503, Socket Mode disconnects) and return
        once the events already taken are handled."""
        ...

    async def serve(self, desk: Desk) -> None:
        """Receive events and run them through `desk` until cancelled. Raise `AdapterStartupError` on setup
        problems found while connecting."""
        ...


@dataclass(frozen=True)
class AdapterSpec:
    name: str
    config_model: type[PlatformChannels]
    # None for the console, which is run on its own (it owns the terminal)
    build: Callable[[PlatformChannels, Settings], RunningAdapter] | None = None
