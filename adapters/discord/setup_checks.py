"""Start-up checks, like the Slack adapter's: one plain line per problem, each naming the fix.

Run once the bot has logged in (REST only, before the gateway connects): is the bot in the configured
server, does each configured channel exist there, and may the bot do in it what the desk does (see
`permissions.needed_in`)? A problem with the server or the queue channel stops the start — nothing would
work; one with the leads or an intake channel is logged as an error and the rest of the desk runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import discord

from adapters.discord.config import DiscordConfig
from adapters.discord.permissions import Place, missing, needed_in
from adapters.registry import AdapterStartupError

log = logging.getLogger(__name__)

INVITE_HINT = "add it with the link `threaddesk discord invite-url` prints"
TEXT_CHANNELS = (discord.TextChannel,)  # announcement channels are TextChannel too in discord.py


@dataclass
class Findings:
    fatal: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, line: str, *, fatal: bool) -> None:
        (self.fatal if fatal else self.errors).append(line)


def _places(config: DiscordConfig) -> list[tuple[Place, str, bool]]:
    """(config key, channel id, whether a problem there stops the start)."""
    places: list[tuple[Place, str, bool]] = []
    if config.queue_channel:
        places.append(("queue_channel", config.queue_channel, True))
    if config.leads_channel:
        places.append(("leads_channel", config.leads_channel, False))
    places += [("intake_channels", channel, False) for channel in config.intake_channels]
    return places


async def check_setup(client: discord.Client, config: DiscordConfig) -> None:
    """Log every problem found; raise `AdapterStartupError` (all fatal lines) when the desk cannot work."""
    findings = Findings()
    await _check(client, config, findings)
    for line in findings.errors:
        log.error(line)
    if findings.fatal:
        raise AdapterStartupError("\n".join(findings.fatal))


async def _server_id(client: discord.Client, config: DiscordConfig, findings: Findings) -> str | None:
    """The configured server, or (no guild_id) the one the configured channels are in."""
    if config.guild_id:
        return config.guild_id
    for key, channel_id, fatal in _places(config):
        try:
            channel = await client.fetch_channel(int(channel_id))
        except discord.HTTPException as exc:
            findings.add(f"Discord: [discord] {key} {channel_id}: {_channel_refusal(exc)}", fatal=fatal)
            continue
        if isinstance(channel, discord.abc.GuildChannel):
            return str(channel.guild.id)
    return None


async def _check(client: discord.Client, config: DiscordConfig, findings: Findings) -> None:
    guild_id = await _server_id(client, config, findings)
    if guild_id is None:
        return
    try:
        guild = await client.fetch_guild(int(guild_id), with_counts=False)
    except discord.Forbidden:
        findings.add(
            f"Discord: the bot is not in the server {guild_id} ([discord] guild_id) — {INVITE_HINT}", fatal=True
        )
        return
    except discord.NotFound:
        findings.add(
            f"Discord: [discord] guild_id {guild_id}: no such server — copy its id again (Developer Mode on, "
            "right-click the server icon → Copy Server ID)",
            fatal=True,
        )
        return
    assert client.user is not None
    me = await guild.fetch_member(client.user.id)
    server_wide = missing(me.guild_permissions, needed_in("server", config))
    if server_wide:
        findings.add(
            f"Discord: the bot's role in {guild.name} lacks {', '.join(server_wide)} (🎫 reactions and “Create "
            "ticket” work in any channel) — Server Settings → Roles → the bot's role: allow them, or re-invite "
            "it with the link `threaddesk discord invite-url` prints",
            fatal=False,
        )
    channels = {str(c.id): c for c in await guild.fetch_channels()}
    for key, channel_id, fatal in _places(config):
        channel = channels.get(channel_id)
        where = f"Discord: [discord] {key} {channel_id}"
        if channel is None:
            findings.add(
                f"{where}: no such channel in {guild.name} — copy its id again (right-click the channel → Copy "
                "Channel ID)",
                fatal=fatal,
            )
            continue
        if not isinstance(channel, TEXT_CHANNELS):
            findings.add(f"{where}: #{channel.name} is not a text channel — pick a text channel", fatal=fatal)
            continue
        lacking = missing(channel.permissions_for(me), needed_in(key, config))
        if not lacking:
            continue
        if "View Channels" in lacking:  # nothing else counts where the bot cannot see
            lacking = ["View Channels"]
            problem = f"the bot cannot see #{channel.name}"
        else:
            problem = f"the bot lacks {', '.join(lacking)} in #{channel.name}"
        findings.add(
            f"{where}: {problem} — #{channel.name} → Edit Channel → Permissions → the bot's role: allow "
            f"{', '.join(lacking)}",
            fatal=fatal,
        )


def _channel_refusal(exc: discord.HTTPException) -> str:
    if exc.status == 404:
        return "no such channel — copy its id again (right-click the channel → Copy Channel ID)"
    if exc.status == 403:
        return f"the bot cannot see this channel, or is not in its server — {INVITE_HINT}, then allow View Channels"
    return f"Discord answered {exc.status} {exc.text}".strip()


async def sync_commands(tree: discord.app_commands.CommandTree[discord.Client], guild_id: str | None) -> int:
    """Register the app commands (in the server when configured). Discord refuses without the
    applications.commands scope: that is one line naming the fix, not a traceback."""
    try:
        if guild_id:
            guild = discord.Object(int(guild_id))
            tree.copy_global_to(guild=guild)
            return len(await tree.sync(guild=guild))
        return len(await tree.sync())
    except discord.Forbidden as exc:
        raise AdapterStartupError(
            f"Discord refused to register the app commands ({exc.status} {exc.text}) — the bot was added without "
            f"the applications.commands scope: {INVITE_HINT} (no need to remove it first)"
        ) from None
