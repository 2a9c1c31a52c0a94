"""The `[discord]` table: ids as strings or numbers, bad values reported with key and fix."""

from __future__ import annotations

import pytest

from adapters.cli import ADAPTERS
from adapters.discord.config import DiscordConfig
from bot.config import ConfigError, settings_from_dict


def test_ids_may_be_numbers_or_strings() -> None:
    settings = settings_from_dict(
        {"discord": {"enabled": True, "guild_id": 123456789012345678, "intake_channels": ["1", 2], "lead_roles": [3]}},
        ADAPTERS,
    )
    config = settings.adapters["discord"]
    assert isinstance(config, DiscordConfig)
    assert (config.guild_id, config.intake_channels, config.lead_roles) == ("123456789012345678", ("1", "2"), ("3",))
    assert config.thread_mode == "public" and config.api_base_url == "https://discord.com/api/v10"
    assert (config.catch_up_messages, config.catch_up_hours) == (500, 24)


def test_bad_values_name_the_key() -> None:
    raw = {
        "discord": {
            "guild_id": "my-server",
            "thread_mode": "secret",
            "agent_roles": "123",
            "api_base_url": "x",
            "catch_up_messages": -1,
        }
    }
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(raw, ADAPTERS)
    text = str(caught.value)
    assert "discord.guild_id: 'my-server' is not a Discord id" in text
    assert "discord.thread_mode: Input should be 'public' or 'private'" in text
    assert "discord.agent_roles: expected a list of Discord ids" in text
    assert "discord.api_base_url: expected an http(s) URL" in text
    assert "discord.catch_up_messages: Input should be greater than or equal to 0" in text


def test_guild_roles_map_to_the_highest_desk_role() -> None:
    from adapters.discord.roles import GuildRoles
    from bot.domain.refs import UserRef
    from bot.domain.roles import Role

    roles = GuildRoles(agent_roles=["1"], lead_roles=["2"], admin_roles=["3"])
    for user, held, expected in [("a", ["1"], Role.AGENT), ("l", ["1", "2"], Role.LEAD), ("x", ["2", "3"], Role.ADMIN)]:
        roles.learn(user, held)
        assert roles.role_of(UserRef(platform="discord", id=user)) is expected
    roles.learn("c", ["999"])
    assert roles.role_of(UserRef(platform="discord", id="c")) is None
    assert roles.role_of(UserRef(platform="slack", id="x")) is None
