"""`/agent …` and `/team …` as Discord app commands (the core's command text, as in `slash.py`)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from adapters.discord.slash import AGENT_DEFAULT, LEAD_DEFAULT, _run


class AgentCommands(app_commands.Group):
    def __init__(self) -> None:
        super().__init__(
            name="agent",
            description="Your availability for automatic assignment (agents)",
            default_permissions=AGENT_DEFAULT,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )

    @app_commands.command(description="No new tickets for you until then (or /agent back)")
    @app_commands.describe(until="e.g. 2h, 3d or 2026-12-01T09:00+01:00", handover="give your open tickets back")
    async def away(
        self, interaction: discord.Interaction[Any], until: str | None = None, handover: bool | None = None
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Available again for new tickets")
    async def back(self, interaction: discord.Interaction[Any]) -> None:
        await _run(interaction)

    @app_commands.command(name="help", description="Availability commands")
    async def help_(self, interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _run(interaction)


class TeamCommands(app_commands.Group):
    def __init__(self) -> None:
        super().__init__(
            name="team",
            description="Teams, availability and load (team leads)",
            default_permissions=LEAD_DEFAULT,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )

    @app_commands.command(name="list", description="Teams: members available, open and unassigned tickets")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        await _run(interaction)

    @app_commands.command(description="A team's members with availability and open load")
    async def show(self, interaction: discord.Interaction[Any], name: str) -> None:
        await _run(interaction)

    @app_commands.command(name="help", description="Team commands")
    async def help_(self, interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _run(interaction)
