"""`threaddesk discord invite-url`: the OAuth2 link with exactly the scopes and permissions the bot uses —
a bot added with it passes every start-up check."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from adapters.discord import invite
from adapters.discord.config import DiscordConfig
from adapters.registry import AdapterStartupError
from tests.adapters.discord.conftest import running_world
from tests.fakes.discord_api import TOKEN, FakeDiscord, P

PUBLIC_MODE = (
    P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.SEND_MESSAGES_IN_THREADS
    | P.CREATE_PUBLIC_THREADS
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
)


def _query(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "discord.com", "/oauth2/authorize")
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_the_link_asks_for_exactly_what_the_bot_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    config = tmp_path / "config.toml"
    config.write_text('[discord]\nguild_id = "222222222222222222"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["discord", "invite-url", "--config", str(config), "--client-id", "111"])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert _query(url) == {
        "client_id": "111",
        "scope": "bot applications.commands",
        "permissions": str(PUBLIC_MODE),
        "guild_id": "222222222222222222",
        "disable_guild_select": "true",
    }
    assert "Attach Files" in result.stderr and "Create Private Threads" not in result.stderr

    config.write_text('[discord]\nthread_mode = "private"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["discord", "invite-url", "-c", str(config), "--client-id", "111"])
    assert _query(result.stdout.strip())["permissions"] == str(PUBLIC_MODE | P.CREATE_PRIVATE_THREADS)

    missing = CliRunner().invoke(app, ["discord", "invite-url", "-c", str(config)])
    assert missing.exit_code == 2
    assert missing.stderr.strip().splitlines() == [
        "error: the link needs your application's id: pass --client-id (developer portal → your app → General "
        "Information → Application ID), or export DISCORD_TOKEN so it can be looked up"
    ]


async def test_with_the_token_the_id_is_looked_up_and_the_bot_it_adds_passes_the_checks(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = DiscordConfig(enabled=True, api_base_url=fake.api_base_url, guild_id=fake.guild_id)
    url = await invite.link(config, client_id=None, token=TOKEN)
    granted = int(_query(url)["permissions"])
    assert _query(url)["client_id"] == fake.app_id
    with pytest.raises(AdapterStartupError, match="rejected the bot token"):
        await invite.link(config, client_id=None, token="not-the-token")

    fake.roles[fake.bot_role]["permissions"] = str(granted)  # exactly what the link granted, nothing more
    with caplog.at_level(logging.INFO):
        async with running_world(fake, tmp_path / "desk.db") as world:
            assert world.adapter.bot is not None and world.adapter.bot.is_ready()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
