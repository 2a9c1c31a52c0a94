"""`/macro …` as Discord app commands, and the macro-name autocomplete `/ticket macro` uses.

As in `slash.py`, the options only shape Discord's UI: the bot turns the interaction back into the core's
command text (`/macro add name | reply | actions`) and runs it.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from adapters.discord.slash import AGENT_DEFAULT, _run, macro_choices

macro_option = app_commands.autocomplete(name=macro_choices)


class MacroCommands(app_commands.Group):
    """Canned replies with actions. Leads write shared ones; agents their own."""

    def __init__(self) -> None:
        super().__init__(
            name="macro",
            description="Canned replies with actions (agents)",
            default_permissions=AGENT_DEFAULT,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )

    @app_commands.command(name="list", description="The macros you can use: shared ones and your own")
    @app_commands.describe(text="only macros whose name or text contains this")
    async def list_(self, interaction: discord.Interaction[Any], text: str | None = None) -> None:
        await _run(interaction)

    @app_commands.command(description="A macro's text, actions and versions")
    @macro_option
    async def show(self, interaction: discord.Interaction[Any], name: str) -> None:
        await _run(interaction)

    @app_commands.command(description="Write a macro (leads: shared; agents: your own)")
    @app_commands.describe(
        name="e.g. refund-sent", reply="placeholders: {customer.first_name} {agent} {ticket} {kb:ARTICLE} …",
        actions="e.g. status pending; priority high; tag refund; note Refund form sent",
    )  # fmt: skip
    async def add(
        self,
        interaction: discord.Interaction[Any],
        name: app_commands.Range[str, 1, 40],
        reply: app_commands.Range[str, 1, 3000],
        actions: str | None = None,
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Replace a macro's reply (and actions, when given)")
    @macro_option
    async def edit(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        reply: app_commands.Range[str, 1, 3000],
        actions: str | None = None,
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Delete a macro (its versions stay in the history)")
    @macro_option
    async def delete(self, interaction: discord.Interaction[Any], name: str) -> None:
        await _run(interaction)

    @app_commands.command(name="help", description="Macro commands")
    async def help_(self, interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _run(interaction)
