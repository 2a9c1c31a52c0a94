"""The running Discord adapter: a discord.py bot serving the desk in one guild (see README, "Discord")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import aiohttp
import discord
from discord.http import Route

from adapters.discord.bot import MESSAGE_CONTENT_HELP, DeskBot, IntentMissing
from adapters.discord.config import TOKEN_ENV, DiscordConfig
from adapters.discord.platform import DiscordPlatform
from adapters.discord.roles import GuildRoles, list_members, look_up, team_roles
from adapters.discord.translate import PLATFORM
from adapters.registry import AdapterStartupError
from bot.config import Settings
from bot.domain.refs import UserRef
from bot.ports import ChatPlatform, GroupMembers, PeopleNames, RoleSource
from bot.services.desk import Desk
from bot.services.teams import TeamDirectory
from bot.teams_config import TeamConfig

log = logging.getLogger(__name__)


class DiscordAdapter:
    """One bot account connected to one guild. `serve` may run again after it stops (a restart)."""

    def __init__(
        self,
        config: DiscordConfig,
        token: str,
        *,
        lease: timedelta = timedelta(seconds=15),
        teams: Sequence[TeamConfig] = (),
        **client_options: Any,
    ) -> None:
        """`teams`: the `[[teams]]` whose `discord:role:…` members are the people holding those roles."""
        self.config = config
        self.lease = lease
        self.token = token
        self.client_options = client_options
        try:
            held = team_roles(teams)
        except ValueError as exc:
            raise AdapterStartupError(str(exc)) from None
        #: the people `[[teams]] members` name one by one (`discord:…`), named at start like the roles' people
        self.team_people = TeamDirectory(teams).people(PLATFORM)
        self.discord = DiscordPlatform(queue_channel=config.queue_channel, guild_id=config.guild_id)
        self.platform: ChatPlatform = self.discord
        self.roles = GuildRoles(config.agent_roles, config.lead_roles, config.guild_id, config.admin_roles, held)
        self.role_sources: Sequence[RoleSource] = (self.roles,)
        self.member_sources: Sequence[GroupMembers] = (self.roles,)
        self.name_sources: Sequence[PeopleNames] = ()  # a gateway message names its author
        self.bot: DeskBot | None = None

    @property
    def connected(self) -> bool:
        """For /readyz: logged in and the gateway websocket is open."""
        bot = self.bot
        return bot is not None and bot.is_ready() and not bot.is_closed() and bot.ws is not None and bot.ws.open

    async def stop_intake(self) -> None:
        """Shutting down: chat messages arriving from now on are kept in the durable inbox and not handled
        (the next start handles them). The gateway stays connected until the outbox is flushed (deliveries
        use the same client); the bot closes cleanly when `serve` is cancelled afterwards."""
        if self.bot is not None:
            self.bot.draining = True

    async def serve(self, desk: Desk) -> None:
        # discord.py builds every REST URL from Route.BASE; the gateway URL comes from GET /gateway/bot
        Route.BASE = self.config.api_base_url
        bot = DeskBot(desk, self.config, self.discord, self.roles, **self.client_options)
        self.bot = bot
        lister: asyncio.Task[None] | None = None
        try:
            async with bot:
                await bot.login(self.token)  # REST: this process delivers its posts even while standing by
                if self.roles.team_roles or self.team_people:
                    lister = asyncio.create_task(self.know_team_members_forever(bot, desk), name="discord-teams")
                shards = [f"discord-shard-{n}" for n in range(self.config.shard_count)]
                # one gateway session per shard across every process on the desk's database
                async with desk.first_free_role(shards, self.lease) as shard:
                    if self.config.shard_count > 1:
                        bot.shard_id, bot.shard_count = int(shard.rsplit("-", 1)[1]), self.config.shard_count
                    await bot.connect()
        except discord.LoginFailure as exc:
            raise AdapterStartupError(
                f"Discord rejected the bot token in {TOKEN_ENV} ({exc}): copy it again from the developer portal "
                "→ your app → Bot → Reset Token."
            ) from None
        except (discord.PrivilegedIntentsRequired, IntentMissing):
            raise AdapterStartupError(MESSAGE_CONTENT_HELP) from None
        except discord.ConnectionClosed as exc:
            raise AdapterStartupError(_closed(exc.code, exc.reason)) from None
        except discord.HTTPException as exc:
            fix = (
                "Discord is having trouble: start again in a minute"
                if exc.status >= 500
                else "check [discord] api_base_url"
            )
            raise AdapterStartupError(
                f"Discord answered {exc.status} ({exc.text or 'no detail'}) at start — {fix}"
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise AdapterStartupError(
                f"Discord: cannot reach {self.config.api_base_url} ({type(exc).__name__}) — check the network "
                "and [discord] api_base_url"
            ) from None
        finally:
            if lister is not None:
                lister.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lister
            self.discord.detach()

    async def know_team_members_forever(self, bot: DeskBot, desk: Desk) -> None:
        """The people holding the teams' roles, listed now and every `members_refresh_seconds`, their names
        stored, as are those of the people the teams name one by one. Without the Server Members Intent (or a
        guild_id) the roles' people are learned as they act instead."""
        listing = bool(self.roles.team_roles)
        if listing and self.config.guild_id is None:
            log.warning(
                "discord: [[teams]] name roles but [discord] guild_id is unset: their members count once they "
                "have written or run a command"
            )
            listing = False
        while True:
            people: list[UserRef] | None = None
            if listing:
                try:
                    people = await list_members(bot.http, self.roles, also=self.team_people)
                except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("discord: listing the members of the teams' roles failed (%s); trying again later", exc)
                    people = []
                if people is None:
                    listing = False
                    log.warning(
                        "discord: Discord refused to list the server's members, so the people holding the teams' "
                        "roles count once they have written or run a command. To hand them tickets at once, turn "
                        "on the Server Members Intent (developer portal → your app → Bot → Privileged Gateway "
                        "Intents)."
                    )
            if people is None:
                people = await look_up(bot.http, self.config.guild_id, desk.unnamed_ids(PLATFORM, self.team_people))
            try:
                await desk.remember_people(desk.unnamed(people))
            except Exception:  # names are a nicety: the next listing tries again
                log.exception("discord: could not store the names of the teams' members")
            if not listing:
                return
            await asyncio.sleep(self.config.members_refresh_seconds)


def _closed(code: int | None, reason: str | None) -> str:
    """The gateway closed the connection for good: Discord's close codes, in words."""
    if code == 4004:
        return (
            f"Discord rejected the bot token in {TOKEN_ENV} (gateway code 4004): copy it again from the developer "
            "portal → your app → Bot → Reset Token."
        )
    if code in (4013, 4014):
        return MESSAGE_CONTENT_HELP
    return f"Discord closed the gateway connection (code {code}: {reason or 'no reason given'}) — start again."


def build(config: DiscordConfig, settings: Settings) -> DiscordAdapter:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise AdapterStartupError(
            f"[discord] is enabled but {TOKEN_ENV} is not set: export the bot token from the developer portal "
            f"(your app → Bot → Token), e.g. `export {TOKEN_ENV}=…`."
        )
    if not config.intake_channels and not config.queue_channel:
        log.warning("discord: no intake_channels or queue_channel configured; only DMs open tickets")
    return DiscordAdapter(config, token, lease=timedelta(seconds=settings.store.lease_seconds), teams=settings.teams)
