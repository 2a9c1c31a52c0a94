"""The running Discord bot: gateway events and interactions in, the desk's answers out.

Thin entry points: each handler translates (pure, `translate.py`), calls `Desk.receive` or `Desk.run`, and
answers. Interactions are deferred first thing, so Discord's 3-second deadline holds however slow the work;
answers to the person who acted are ephemeral, errors included.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import translate
from adapters.discord.answers import answer, answer_error, text_modal
from adapters.discord.catch_up import CatchUp
from adapters.discord.components import CommandButton, CommandSelect
from adapters.discord.config import DiscordConfig
from adapters.discord.lookups import RecentIds, dm_ticket_thread, macro_choices, ticket_choices
from adapters.discord.message_intake import CREATE_TICKET, open_for_message, reaction_matches
from adapters.discord.platform import DiscordPlatform
from adapters.discord.roles import GuildRoles
from adapters.discord.setup_checks import check_setup, sync_commands
from adapters.discord.slash import (
    DashboardCommands,
    DigestCommands,
    IncidentCommands,
    KbCommands,
    TicketCommands,
    staff_commands,
)
from adapters.discord.slash_macros import MacroCommands
from adapters.discord.slash_routing import AgentCommands, TeamCommands
from adapters.read_marks import ReadMarks
from bot.domain import commands as command_table
from bot.domain.inbound import IncomingMessage
from bot.domain.roles import Role
from bot.domain.ticket import Ticket
from bot.ports import DeliveryError
from bot.services.desk import Desk
from bot.services.replies import Reply

log = logging.getLogger(__name__)

MESSAGE_CONTENT_HELP = (
    "the Discord bot is missing the Message Content intent, so it cannot read what customers write. "
    "Enable it at https://discord.com/developers/applications → your app → Bot → Privileged Gateway Intents "
    "→ Message Content Intent, save, and start again."
)


class IntentMissing(Exception):
    """The application may not receive message content (see MESSAGE_CONTENT_HELP)."""


def intents() -> discord.Intents:
    """Only what the desk needs: guild structure (channels, threads), messages in guilds and DMs, their text,
    and reactions in guilds (the ticket reaction)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.message_content = True
    wanted.guild_reactions = True
    return wanted


def quiet_voice_warnings() -> None:
    """discord.py warns at start that PyNaCl and davey (voice) are missing; the desk never joins voice."""
    for flag in ("warn_nacl", "warn_dave"):
        if hasattr(discord.VoiceClient, flag):
            setattr(discord.VoiceClient, flag, False)


class DeskBot(commands.Bot):
    def __init__(
        self,
        desk: Desk,
        config: DiscordConfig,
        platform: DiscordPlatform,
        roles: GuildRoles,
        **options: Any,
    ) -> None:
        quiet_voice_warnings()
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            # discord.py waits out rate limits up to this long; a longer one goes back to the outbox (RetryLater)
            max_ratelimit_timeout=options.pop("max_ratelimit_timeout", 30.0),
            max_messages=options.pop("max_messages", None),  # the desk keeps its own log: no message cache
            chunk_guilds_at_startup=False,
            **options,
        )
        self.desk = desk
        self.config = config
        self.platform = platform
        self.roles = roles
        self._recent = RecentIds()
        self.marks = ReadMarks(desk.mark_read, translate.PLATFORM)
        self.catch_up = CatchUp(self, desk, config, self.marks, self._take_missed)
        #: shutting down (SIGTERM): new chat messages are kept in the durable inbox, not handled; the next
        #: start handles them. The gateway stays open meanwhile: the outbox is flushed through this client.
        self.draining = False
        self.tree.error(self._on_app_command_error)

    # --- start-up ---------------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        flags = self.application_flags
        if not (flags.gateway_message_content or flags.gateway_message_content_limited):
            raise IntentMissing(MESSAGE_CONTENT_HELP)
        await check_setup(self, self.config)
        data = await self.http.request(Route("GET", "/gateway/bot"))
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(data["url"])
        self.add_dynamic_items(CommandButton, CommandSelect)
        self.tree.add_command(TicketCommands())
        self.tree.add_command(KbCommands())
        self.tree.add_command(DigestCommands())
        self.tree.add_command(MacroCommands())
        self.tree.add_command(DashboardCommands())
        self.tree.add_command(AgentCommands())
        self.tree.add_command(TeamCommands())
        self.tree.add_command(IncidentCommands())
        for command in staff_commands():
            self.tree.add_command(command)
        self.tree.add_command(app_commands.ContextMenu(name=CREATE_TICKET, callback=self.create_ticket_from_menu))
        synced = await sync_commands(self.tree, self.config.guild_id)
        log.info("discord: %d app commands synced to %s", synced, self.config.guild_id or "all servers")
        self.platform.attach(self)

    # --- sessions: a new one starts empty, so what was written meanwhile is read back ---------------------

    async def on_connect(self) -> None:
        self.catch_up.hold()  # READY of a new session: live messages wait for the catch-up's plan

    async def on_ready(self) -> None:
        self.catch_up.start()

    async def on_resumed(self) -> None:
        log.info("discord: gateway session resumed; Discord replays what the drop missed")

    async def close(self) -> None:
        self.catch_up.cancel()
        try:
            await asyncio.wait_for(self.marks.flush(), timeout=5)
        except Exception as exc:  # the next start reads a little more back
            log.warning("discord: read marks not recorded at stop (%s)", exc)
        await super().close()

    # --- chat messages ----------------------------------------------------------------------------------

    def _ours(self, guild: discord.Guild | None) -> bool:
        return guild is None or self.config.guild_id is None or str(guild.id) == self.config.guild_id

    async def on_message(self, message: discord.Message) -> None:
        if not self._ours(message.guild):
            return
        if message.author.bot:
            return
        where, position = str(message.channel.id), str(message.id)
        self.marks.begin(where, position)  # before any await: in the order the gateway delivered
        taken = False
        try:
            await self.catch_up.wait_turn(message.channel.id)
            taken = await self._take(message)
        finally:
            self.marks.finish(where, position, write=taken)

    async def _take_missed(self, message: discord.Message) -> bool:
        """A message read back from history: its author's roles are not in it (the gateway's are), so an
        agent's reply in a customer's thread is looked up before it is taken in."""
        author = message.author
        if message.guild is not None and not author.bot and not self.roles.knows(str(author.id)):
            try:
                self.roles.learn_member(await message.guild.fetch_member(author.id))
            except discord.NotFound:
                self.roles.learn(str(author.id), ())  # left the server: no roles
            except discord.HTTPException as exc:
                log.warning("discord: roles of %s unknown (%s %s)", author.id, exc.status, exc.text)
        return await self._take(message)

    async def _take(self, message: discord.Message) -> bool:
        """The gateway's intake, shared with the catch-up: True when the desk took the message in now (kept in
        the inbox, or handled when the inbox was unavailable); False for what is not the desk's or was taken
        in before."""
        channel: Any = message.channel
        if isinstance(channel, discord.PartialMessageable) and message.guild is not None:
            channel = await self._look_up(channel)  # e.g. an archived thread discord.py has not cached
        msg = translate.incoming(message, bot_id=self.user.id if self.user else None, channel=channel)
        if msg is None:
            return False
        self.roles.learn_member(message.author)
        if self._recent.seen(message.id):
            return False
        if msg.is_direct:
            self.platform.knows_direct(msg.channel)
            msg = await self._in_dm_ticket(msg)
        elif msg.thread is not None:
            self.platform.knows_thread(msg.thread)
        elif self.config.thread_mode == "private" and msg.channel in self.config.intake_channels:
            msg = await self._private_thread_for(msg, message)
        try:
            kept = await self.desk.accept(msg)  # kept until handled: a crash from here on loses nothing
        except Exception as exc:
            log.warning("discord: message %s not kept in the inbox (%s); handling it now", msg.message_id, exc)
            return await self._receive(msg) is not None
        else:
            if self.draining:  # kept (or a repeat of one handled or kept already): the next start handles it
                log.info("discord: shutting down; message %s is kept for the next start", msg.message_id)
                return kept
        await self._receive(msg)
        return kept

    async def _receive(self, msg: IncomingMessage, attempts: int = 3) -> Ticket | None:
        """Hand a message to the desk. Its transaction either commits or changes nothing, so a failure (a busy
        database under load) is retried: the gateway will not deliver the message again."""
        for attempt in range(1, attempts + 1):
            try:
                return await self.desk.receive(msg)
            except Exception:
                if attempt == attempts:
                    log.exception("discord: message %s could not be taken in", msg.message_id)
                    return None
                log.warning("discord: message %s: attempt %d failed; retrying", msg.message_id, attempt)
                await asyncio.sleep(0.1 * attempt)
        return None

    async def _look_up(self, channel: discord.PartialMessageable) -> Any:
        """The full channel (a thread's parent matters: it says which ticket the message joins)."""
        try:
            return await self.fetch_channel(channel.id)
        except discord.HTTPException:
            log.warning("discord: could not look up channel %s; treating it as a top-level channel", channel.id)
            return channel

    async def _in_dm_ticket(self, msg: IncomingMessage) -> IncomingMessage:
        thread = await dm_ticket_thread(self.desk, msg.author, msg.channel)
        return msg.model_copy(update={"thread": thread}) if thread else msg

    async def _private_thread_for(self, msg: IncomingMessage, message: discord.Message) -> IncomingMessage:
        name = f"{message.author.display_name}: {' '.join(msg.text.split())}"[:100] or "Support"
        try:
            thread = await self.platform.start_private_thread(msg.channel, name, str(message.author.id))
        except DeliveryError as exc:  # e.g. no Create Private Threads permission: a public thread, not a lost ticket
            log.warning("discord: no private thread for message %s (%s); using a public thread", msg.message_id, exc)
            return msg
        return msg.model_copy(update={"started_thread": thread})

    def _opens_private_ticket(self, command: str, thread: str | None, guild: discord.Guild | None) -> bool:
        words = command.split()
        return (
            self.config.thread_mode == "private"
            and guild is not None
            and thread is None
            and words[:2] == ["/ticket", "new"]
            and len(words) > 2
        )

    # --- a ticket for someone's message: the reaction and the "Create ticket" menu ------------------------

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """The configured reaction on any message opens a ticket for its author (raw: the message need not
        be in discord.py's cache, which the desk keeps empty)."""
        if payload.guild_id is None or (self.config.guild_id and str(payload.guild_id) != self.config.guild_id):
            return
        if (self.user and payload.user_id == self.user.id) or (payload.member and payload.member.bot):
            return
        if not reaction_matches(payload.emoji, self.config.ticket_reaction):
            return
        if payload.member is not None:
            self.roles.learn_member(payload.member)
        try:
            channel: Any = self.get_channel(payload.channel_id) or await self.fetch_channel(payload.channel_id)
            message = await channel.fetch_message(payload.message_id)
        except discord.HTTPException as exc:
            log.warning(
                "discord: %s on message %s: cannot read it (%s %s) — allow the bot Read Message History there",
                payload.emoji,
                payload.message_id,
                exc.status,
                exc.text,
            )
            return
        reply = await self._open_for(message)
        log.info("discord: %s by %s on message %s: %s", payload.emoji, payload.user_id, message.id, reply.message.text)

    async def create_ticket_from_menu(self, interaction: discord.Interaction[Any], message: discord.Message) -> None:
        """Right-click a message → Apps → Create ticket: a ticket for the message's author; only the person
        who asked sees the answer."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.roles.learn_member(interaction.user)
        if not self._ours(interaction.guild):
            await self.answer(interaction, Reply.error("This desk serves another server."))
            return
        await self.answer(interaction, await self._open_for(message))

    async def _open_for(self, message: discord.Message) -> Reply:
        channel: Any = message.channel
        if isinstance(channel, discord.PartialMessageable) and message.guild is not None:
            channel = await self._look_up(channel)  # a thread's parent says where the new thread goes
        self.roles.learn_member(message.author)
        bot_id = self.user.id if self.user else None
        return await open_for_message(self.desk, self.platform, self.config, message, channel=channel, bot_id=bot_id)

    # --- interactions -----------------------------------------------------------------------------------

    async def run_app_command(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        data: dict[str, Any] = dict(interaction.data or {})
        for user_id, role_ids in translate.member_role_ids(data).items():
            self.roles.learn(user_id, role_ids)
        picked = translate.resolved_users(data)
        if picked:  # `assign @erin` must find Erin even if she has never written to the desk
            async with self.desk.ctx.store.transaction() as uow:
                for person in picked:
                    await self.desk.ctx.remember(uow, person)
        request = translate.interaction_request(interaction)
        assert request is not None  # an application command always translates
        await self._run(interaction, request[1])

    async def run_component(self, interaction: discord.Interaction[Any], command: str) -> None:
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        await self._run(interaction, command)

    async def ask_for_text(self, interaction: discord.Interaction[Any], command: str, label: str) -> None:
        """Open the form a button needs (Reply…, Resolve…) — unless the person may not run its command: a
        customer pressing Reply… on a ticket card is told so before typing anything."""
        refusal = self._refusal(interaction, command)
        if refusal is not None:
            await self.answer(interaction, Reply.error(refusal))
            return
        await interaction.response.send_modal(text_modal(command, label))

    def _refusal(self, interaction: discord.Interaction[Any], command: str) -> str | None:
        self.roles.learn_member(interaction.user)
        role = self.desk.role_of(translate.user_ref(interaction.user))
        words = command.lstrip("/").split()
        spec = next((s for s in command_table.SPECS if [s.group, s.name] == words[:2]), None)
        if spec is None:
            return None  # the desk will say what is wrong with it after the form
        needed = max(spec.role, Role.AGENT, key=lambda r: r.rank) if self._on_a_card(interaction) else spec.role
        if role.at_least(needed):
            return None
        return (
            f"Only {needed.plural} can use `/{spec.group} {spec.name}` from a ticket card. "
            f"You are signed in as {role.with_article}."
        )

    def _on_a_card(self, interaction: discord.Interaction[Any]) -> bool:
        """Pressed on a message in the queue channel or a card's thread: the agents' side of the desk."""
        queue = self.config.queue_channel
        channel = interaction.channel
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        return queue is not None and queue in (str(interaction.channel_id), str(parent))

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Modal submissions: the id names the command, the text input the rest (see `answers.text_modal`)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        request = translate.interaction_request(interaction)
        if request is not None:
            await self.run_component(interaction, request[1])

    async def _run(self, interaction: discord.Interaction[Any], command: str) -> None:
        try:
            await self._run_command(interaction, command)
        except Exception:
            log.exception("interaction %s failed: %r", interaction.id, command[:200])
            await self.answer_error(interaction)

    async def _run_command(self, interaction: discord.Interaction[Any], command: str) -> None:
        if not self._ours(interaction.guild):
            await self.answer(interaction, Reply.error("This desk serves another server."))
            return
        self.roles.learn_member(interaction.user)
        actor = translate.user_ref(interaction.user)
        place = translate.place_of(interaction.channel, interaction.channel_id)
        if isinstance(interaction.channel, discord.DMChannel):  # `/ticket reply …` in a DM: that DM's ticket
            thread = await dm_ticket_thread(self.desk, actor, place.channel)
            place = place.model_copy(update={"thread": thread}) if thread else place
        elif self._opens_private_ticket(command, place.thread, interaction.guild):
            # `/ticket new` in private mode: the ticket lives in a private thread from its first word
            name = f"{actor.display}: {' '.join(command.split()[2:])}"[:100]
            thread = await self.platform.start_private_thread(place.channel, name, actor.id)
            place = place.model_copy(update={"thread": thread})
        reply = await self.desk.run(actor, command, place)
        await self.answer(interaction, reply)

    async def answer(self, interaction: discord.Interaction[Any], reply: Reply) -> None:
        await answer(interaction, reply)

    async def answer_error(self, interaction: discord.Interaction[Any]) -> None:
        await answer_error(interaction)

    async def _on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """Options Discord sent that discord.py could not match or convert (a client with stale commands, a
        renamed command): the desk's own parser reads the raw options instead and says what is wrong."""
        convertible = (
            app_commands.TransformerError,
            app_commands.CommandSignatureMismatch,
            app_commands.CommandNotFound,
        )
        data: dict[str, Any] = dict(interaction.data or {})
        if isinstance(error, convertible) and data.get("type", 1) == 1 and not interaction.response.is_done():
            log.info("discord: %s; letting the desk read the options of %r", error, data.get("name"))
            try:
                await self.run_app_command(interaction)
                return
            except Exception:
                log.exception("discord: %r could not run from its raw options", data.get("name"))
        else:
            log.error("app command failed", exc_info=error)
        await self.answer_error(interaction)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("discord event %s failed", event_method)

    async def open_tickets(self, interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[int]]:
        """Autocomplete for ticket numbers."""
        self.roles.learn_member(interaction.user)
        actor = translate.user_ref(interaction.user)
        return await ticket_choices(self.desk, actor, current, staff=self.desk.role_of(actor).at_least(Role.AGENT))

    async def macro_names(self, interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete for macro names (agents only: customers get none)."""
        self.roles.learn_member(interaction.user)
        actor = translate.user_ref(interaction.user)
        if not self.desk.role_of(actor).at_least(Role.AGENT):
            return []
        return await macro_choices(self.desk, actor, current)


__all__ = ["MESSAGE_CONTENT_HELP", "DeskBot", "IntentMissing", "intents"]
