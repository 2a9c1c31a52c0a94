"""`threaddesk discord invite-url`: the link that adds the bot to a Discord server."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from adapters.cli.app import ConfigOpt, _fail, _settings, discord_app, err, out
from adapters.discord.config import TOKEN_ENV as DISCORD_TOKEN_ENV
from adapters.discord.config import DiscordConfig
from adapters.help import example
from adapters.registry import AdapterStartupError


@discord_app.command(
    "invite-url",
    epilog=example(
        "threaddesk discord invite-url --config config.toml", "threaddesk discord invite-url --client-id 123"
    ),
)
def discord_invite_url(
    config: ConfigOpt = None,
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help="Application ID (developer portal); default: looked up with DISCORD_TOKEN."),
    ] = None,
) -> None:
    """Print the link that adds the bot to your server with exactly the permissions and scopes it uses."""
    from adapters.discord import invite as discord_invite  # discord.py loads only for Discord's commands

    settings = _settings(config, None)
    discord_config = settings.adapters["discord"]
    assert isinstance(discord_config, DiscordConfig)
    token = os.environ.get(DISCORD_TOKEN_ENV, "").strip() or None
    try:
        url = asyncio.run(discord_invite.link(discord_config, client_id=client_id, token=token))
    except AdapterStartupError as exc:
        raise _fail(str(exc)) from None
    out.print(url)
    err.print(discord_invite.grants(discord_config))
