"""Real discord.py objects built from recorded gateway payloads (no network): a client's connection state
holding the recorded guild, then `discord.Message` / `discord.Interaction` exactly as discord.py makes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import discord
from discord.state import ConnectionState

from adapters.discord.bot import intents

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return data


def state() -> ConnectionState[Any]:
    client = discord.Client(intents=intents())
    uow = client._connection
    guild = payload("guild_create.json")
    uow._add_guild_from_data(guild)  # type: ignore[arg-type]
    bot = payload("message_create_bot.json")["author"]
    uow.user = discord.ClientUser(state=uow, data=bot)
    return uow


def message(name: str, **changes: Any) -> discord.Message:
    uow = state()
    data = {**payload(name), **changes}
    channel, _ = uow._get_guild_channel(data)  # type: ignore[arg-type]
    return discord.Message(state=uow, channel=channel, data=data)  # type: ignore[arg-type]


def interaction(name: str) -> discord.Interaction[Any]:
    return discord.Interaction(data=payload(name), state=state())  # type: ignore[arg-type]


def bot_id() -> int:
    return int(payload("message_create_bot.json")["author"]["id"])
