"""Reading a fake Discord the way a person would: contents, embed fields, buttons."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord_api import FakeDiscord


def buttons(message: dict[str, Any]) -> list[str]:
    return [c["label"] for row in message["components"] for c in row["components"] if c["type"] == 2]


def menus(message: dict[str, Any]) -> list[str]:
    return [c["placeholder"] for row in message["components"] for c in row["components"] if c["type"] == 3]


def fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for embed in message["embeds"] for f in embed.get("fields", [])}


def contents(fake: FakeDiscord, channel: str) -> list[str]:
    return [m["content"] for m in fake.bot_messages_in(channel)]


def find(fake: FakeDiscord, channel: str, needle: str) -> dict[str, Any] | None:
    return next((m for m in fake.bot_messages_in(channel) if needle in m["content"]), None)
