"""The `[slack]` table. Secrets are not here: they come from SLACK_BOT_TOKEN, SLACK_APP_TOKEN and
SLACK_SIGNING_SECRET (see `Secrets`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.config import PlatformChannels

DEFAULT_API = "https://slack.com/api/"
_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


class SlackConfig(PlatformChannels):
    mode: Literal["socket", "http"] = "socket"
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)
    api_base_url: str = DEFAULT_API
    ticket_reaction: str = "ticket"
    agent_groups: tuple[str, ...] = Field(default=(), description="user-group ids (S…) whose members are agents")
    lead_groups: tuple[str, ...] = Field(default=(), description="user-group ids (S…) whose members are leads")
    groups_refresh_seconds: float = Field(default=600.0, ge=10)
    catch_up_messages: int = Field(
        default=500,
        ge=0,
        description="Socket Mode: after each (re)connection read back at most this many messages per intake channel "
        "(0 = no catch-up)",
    )
    catch_up_hours: float = Field(
        default=24, ge=0, description="… and nothing written longer ago than this many hours (0 = no catch-up)"
    )

    @field_validator("intake_channels")
    @classmethod
    def _channel_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            _check_channel(item)
        return value

    @field_validator("queue_channel", "leads_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None:
            _check_channel(value)
        return value

    @field_validator("agent_groups", "lead_groups")
    @classmethod
    def _group_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not GROUP_ID.match(item):
                raise ValueError(f"{item!r} is not a Slack user-group id (like 'S0123ABCD')")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL (default {DEFAULT_API})")
        return value if value.endswith("/") else value + "/"

    @field_validator("ticket_reaction")
    @classmethod
    def _reaction(cls, value: str) -> str:
        name = value.strip().strip(":")
        if not name or " " in name:
            raise ValueError(f"{value!r} is not an emoji name (like 'ticket')")
        return name

    @model_validator(mode="after")
    def _queue_needed(self) -> SlackConfig:
        if self.enabled and self.queue_channel is None:
            raise ValueError("queue_channel is required when Slack is enabled (the channel id of #support-queue)")
        return self


def _check_channel(value: str) -> None:
    if not _CHANNEL_ID.match(value):
        raise ValueError(f"{value!r} is not a Slack channel id (like 'C0123ABCD'; in Slack: channel details → About)")


@dataclass(frozen=True)
class Secrets:
    """Read from the environment only, never from the file and never logged."""

    bot_token: str
    signing_secret: str = ""
    app_token: str = ""

    @classmethod
    def from_env(cls, mode: str) -> Secrets:
        bot = os.environ.get("SLACK_BOT_TOKEN", "")
        missing = [] if bot else ["SLACK_BOT_TOKEN (xoxb-…)"]
        secret = os.environ.get("SLACK_SIGNING_SECRET", "")
        app = os.environ.get("SLACK_APP_TOKEN", "")
        if mode == "http" and not secret:
            missing.append("SLACK_SIGNING_SECRET (Basic Information → App Credentials)")
        if mode == "socket" and not app:
            missing.append("SLACK_APP_TOKEN (xapp-…, Basic Information → App-Level Tokens, scope connections:write)")
        if missing:
            raise MissingSecrets(
                f"Slack is enabled in {mode} mode but these environment variables are unset: " + ", ".join(missing)
            )
        return cls(bot_token=bot, signing_secret=secret, app_token=app)


class MissingSecrets(Exception):
    pass
