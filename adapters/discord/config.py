"""The `[discord]` table. Ids are Discord snowflakes, written as strings or numbers; the token is the
`DISCORD_TOKEN` environment variable, never part of the file."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from bot.config import PlatformChannels

DISCORD_API = "https://discord.com/api/v10"
TOKEN_ENV = "DISCORD_TOKEN"


def _snowflake(value: Any) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"{value!r} is not a Discord id (digits only: right-click → Copy ID in developer mode)")
    return text


class DiscordConfig(PlatformChannels):
    api_base_url: str = Field(default=DISCORD_API, description="REST base of Discord or a compatible server")
    guild_id: str | None = Field(default=None, description="the server the desk serves; app commands sync there")
    thread_mode: Literal["public", "private"] = "public"
    ticket_reaction: str = Field(
        default="🎫", description="reacting with it to any message opens a ticket for the message's author"
    )
    catch_up_messages: int = Field(
        default=500,
        ge=0,
        description="at start and after a reconnect that lost the session, read back at most this many messages "
        "per intake channel and open ticket's thread or DM (0 = no catch-up)",
    )
    catch_up_hours: float = Field(
        default=24, ge=0, description="… and nothing written longer ago than this many hours (0 = no catch-up)"
    )
    shard_count: int = Field(
        default=1,
        ge=1,
        le=64,
        description="gateway shards; each ThreadDesk process sharing a PostgreSQL desk connects one nobody holds",
    )
    agent_roles: tuple[str, ...] = ()
    lead_roles: tuple[str, ...] = ()
    admin_roles: tuple[str, ...] = ()
    members_refresh_seconds: float = Field(
        default=600.0,
        ge=10,
        description="how often the people holding the roles [[teams]] members name are listed again (needs the "
        "Server Members Intent; without it they count once they have written or run a command)",
    )

    @field_validator("guild_id", "queue_channel", "leads_channel", mode="before")
    @classmethod
    def _one_id(cls, value: Any) -> str | None:
        return None if value is None or value == "" else _snowflake(value)

    @field_validator("intake_channels", "agent_roles", "lead_roles", "admin_roles", mode="before")
    @classmethod
    def _many_ids(cls, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError('expected a list of Discord ids, e.g. ["123456789012345678"]')
        return tuple(_snowflake(v) for v in value)

    @field_validator("ticket_reaction")
    @classmethod
    def _emoji(cls, value: str) -> str:
        if not value.strip() or any(ch.isspace() for ch in value.strip()):
            raise ValueError('expected one emoji, e.g. "🎫", or a custom emoji as "<:name:id>"')
        return value.strip()

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://discord.com/api/v10")
        return value.rstrip("/")
