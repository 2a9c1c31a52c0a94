"""The Discord permissions the desk uses, where it uses them, and the invite link that grants exactly those.

One table serves the start-up checks (`setup_checks.py`) and `threaddesk discord invite-url`, so the link
never asks for less than the checks want, nor for more than the bot uses.
"""

from __future__ import annotations

from typing import Literal

import discord

from adapters.discord.config import DiscordConfig

#: OAuth2 scopes: the bot user itself, and its app commands (slash commands, the "Create ticket" menu)
SCOPES = ("bot", "applications.commands")

#: discord.py's attribute → the name Discord's UI shows (server settings, the invite screen)
LABELS = {
    "view_channel": "View Channels",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "create_public_threads": "Create Public Threads",
    "create_private_threads": "Create Private Threads",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
    "read_message_history": "Read Message History",
}

Place = Literal["queue_channel", "leads_channel", "intake_channels", "server"]


def needed_in(place: Place, config: DiscordConfig) -> tuple[str, ...]:
    """What the bot does in each configured place, as permission attributes (see LABELS).

    queue: ticket cards (embeds with buttons) and each card's thread of internal notes.
    leads: escalation and SLA alerts, the digest with its chart (a file).
    intake: the customer's ticket thread on their message (public), or a private thread they are added to;
    reading a message someone reacted to (🎫) needs its history.
    server: reactions and "Create ticket" work in any channel, so the bot's role needs it all server-wide.
    """
    threads = ("create_private_threads",) if config.thread_mode == "private" else ()
    if place == "queue_channel":
        return (
            "view_channel",
            "send_messages",
            "embed_links",
            "create_public_threads",
            "send_messages_in_threads",
        )
    if place == "leads_channel":
        return ("view_channel", "send_messages", "embed_links", "attach_files")
    if place == "intake_channels":
        return (
            "view_channel",
            "send_messages",
            "embed_links",
            "create_public_threads",
            *threads,
            "send_messages_in_threads",
            "read_message_history",
        )
    return tuple(name for name in LABELS if name != "create_private_threads" or threads)


def invite_permissions(config: DiscordConfig) -> discord.Permissions:
    """Exactly what the bot uses: the union of every place's needs."""
    return discord.Permissions(**dict.fromkeys(needed_in("server", config), True))


def invite_url(client_id: str, config: DiscordConfig) -> str:
    """The OAuth2 link that adds the bot to a server with those permissions (the configured server preselected)."""
    guild = discord.Object(int(config.guild_id)) if config.guild_id else discord.utils.MISSING
    return discord.utils.oauth_url(
        client_id,
        permissions=invite_permissions(config),
        guild=guild,
        scopes=SCOPES,
        disable_guild_select=config.guild_id is not None,
    )


def missing(held: discord.Permissions, needed: tuple[str, ...]) -> list[str]:
    """The labels of the needed permissions `held` lacks, in the order Discord's settings list them."""
    return [LABELS[name] for name in needed if not getattr(held, name)]
