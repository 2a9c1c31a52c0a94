"""The `[console]` table: a local workspace in one terminal."""

from __future__ import annotations

from pydantic import Field

from bot.config import PlatformChannels


class ConsoleConfig(PlatformChannels):
    enabled: bool = True
    intake_channels: tuple[str, ...] = ("support",)
    queue_channel: str | None = "support-queue"
    leads_channel: str | None = "support-leads"
    names: dict[str, str] = Field(default_factory=dict, description="user id -> display name")
    start_as: str = "alice"
