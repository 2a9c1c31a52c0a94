"""Persistent components: the `custom_id` of every button and menu carries the command it runs.

Because the command lives in the id (not in memory), a button on a card posted a month ago still works
after any number of restarts: discord.py matches the id against these templates (`DynamicItem`) and the
bot runs the command as the person who pressed it.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, Self

import discord

CUSTOM_ID_LIMIT = 100
BUTTON_PREFIX = "td:b:"  # runs the command
PROMPT_PREFIX = "td:m:"  # asks for text in a modal first, then runs the command with it appended
SELECT_PREFIX = "td:s:"  # a menu: the chosen option's value is the command
MODAL_PREFIX = "td:modal:"


class ComponentRunner(Protocol):
    """What a pressed component needs from the bot (implemented by `DeskBot`)."""

    async def run_component(self, interaction: discord.Interaction[Any], command: str) -> None: ...

    async def ask_for_text(self, interaction: discord.Interaction[Any], command: str, label: str) -> None: ...


def _runner(interaction: discord.Interaction[Any]) -> ComponentRunner:
    client: Any = interaction.client
    return client  # type: ignore[no-any-return]


class CommandButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"td:(?P<kind>[bm]):(?P<command>.+)"):
    """A button whose id is `td:b:/ticket claim 12` (or `td:m:…` when it asks for text first)."""

    def __init__(self, button: discord.ui.Button[Any], *, command: str, prompt: bool) -> None:
        super().__init__(button)
        self.command = command
        self.prompt = prompt

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        assert isinstance(item, discord.ui.Button)
        return cls(item, command=match["command"], prompt=match["kind"] == "m")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        runner = _runner(interaction)
        if self.prompt:
            await runner.ask_for_text(interaction, self.command, self.item.label or "")
        else:
            await runner.run_component(interaction, self.command)


class CommandSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"td:s:(?P<key>.*)"):
    """A menu whose options' values are commands (`/ticket priority 12 high`)."""

    def __init__(self, select: discord.ui.Select[Any]) -> None:
        super().__init__(select)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        assert isinstance(item, discord.ui.Select)
        return cls(item)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = self.item.values
        if values:
            await _runner(interaction).run_component(interaction, values[0])


def button_id(command: str, *, prompt: bool) -> str | None:
    """The stable id for a button running `command`, or None when it would not fit Discord's 100 chars."""
    custom_id = (PROMPT_PREFIX if prompt else BUTTON_PREFIX) + command
    return custom_id if len(custom_id) <= CUSTOM_ID_LIMIT else None
