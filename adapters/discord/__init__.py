"""Discord: a discord.py bot serving the desk in one guild (see README, "Discord"). `SPEC` is what the CLI
registers; discord.py (and the adapter, `adapters.discord.adapter`) load only when Discord is enabled, so a
console or Slack desk does not pay for importing them at every start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.discord.config import DiscordConfig
from adapters.registry import AdapterSpec
from bot.config import PlatformChannels, Settings

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter


def build(config: PlatformChannels, settings: Settings) -> DiscordAdapter:
    """Called by `threaddesk run` when `[discord] enabled = true`. The token comes from the environment."""
    from adapters.discord import adapter

    assert isinstance(config, DiscordConfig)
    return adapter.build(config, settings)


def __getattr__(name: str) -> object:
    if name == "DiscordAdapter":
        from adapters.discord.adapter import DiscordAdapter

        return DiscordAdapter
    raise AttributeError(f"module 'adapters.discord' has no attribute {name!r}")


SPEC = AdapterSpec("discord", DiscordConfig, build)

__all__ = ["SPEC", "DiscordAdapter", "DiscordConfig", "build"]
