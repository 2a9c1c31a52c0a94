"""`threaddesk discord invite-url`: the link that adds the bot to a server with exactly what it uses.

The link needs the application's id. Given `--client-id` it is built offline; otherwise the id is asked of
Discord with the bot token (`GET /oauth2/applications/@me`), so the usual setup — token exported, config
written — needs no copying from the developer portal.
"""

from __future__ import annotations

import asyncio

import aiohttp
import discord
from discord.http import Route

from adapters.discord.config import TOKEN_ENV, DiscordConfig
from adapters.discord.permissions import LABELS, SCOPES, invite_url, needed_in
from adapters.registry import AdapterStartupError

NO_ID = (
    f"the link needs your application's id: pass --client-id (developer portal → your app → General "
    f"Information → Application ID), or export {TOKEN_ENV} so it can be looked up"
)


async def application_id(config: DiscordConfig, token: str) -> str:
    """The application's id, asked of Discord with the bot token (one line on any failure)."""
    Route.BASE = config.api_base_url
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(token)
        data = await http.application_info()
        return str(data["id"])
    except discord.LoginFailure:
        raise AdapterStartupError(
            f"Discord rejected the bot token in {TOKEN_ENV}: copy it again from the developer portal → your app "
            "→ Bot → Reset Token (or pass --client-id)."
        ) from None
    except discord.HTTPException as exc:
        raise AdapterStartupError(f"Discord answered {exc.status} ({exc.text or 'no detail'}) — {NO_ID}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise AdapterStartupError(
            f"cannot reach {config.api_base_url} ({type(exc).__name__}) — check the network, or pass --client-id"
        ) from None
    finally:
        await http.close()


async def link(config: DiscordConfig, *, client_id: str | None, token: str | None) -> str:
    if client_id is None:
        if not token:
            raise AdapterStartupError(NO_ID)
        client_id = await application_id(config, token)
    if not client_id.isdigit():
        raise AdapterStartupError(f"--client-id {client_id!r} is not an application id (digits only)")
    return invite_url(client_id, config)


def grants(config: DiscordConfig) -> str:
    """What the link asks for, in the words of Discord's invite screen."""
    names = ", ".join(LABELS[name] for name in needed_in("server", config))
    where = f" to server {config.guild_id}" if config.guild_id else ""
    return f"Adds the bot{where} with scopes {' and '.join(SCOPES)} and the permissions {names}."
