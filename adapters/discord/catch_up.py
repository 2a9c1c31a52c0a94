"""Catch-up after downtime on Discord: what was written while the bot was away is read back and taken in.

The gateway delivers only what happens while a session lives. A RESUME replays what a short drop missed
(`on_resumed`: nothing to read back), but a new session — every start, and a reconnect Discord would not let
resume (op 9) — begins empty. So on each `on_ready` the bot reads every intake channel and every open ticket's
thread or DM after its read mark (`adapters.read_marks`), oldest first, and hands each message to the same
intake as the gateway's: `Desk.accept`, then `Desk.receive` (taking a message in twice changes nothing).
Bounded per conversation: at most `[discord] catch_up_messages` messages, none older than `catch_up_hours`.

Order: from the new session's READY (`on_connect`) until the plan is made, live messages wait; then a live
message waits only while its own conversation is being read back, so it is taken in after the older ones and a
read mark never passes a message not read yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord

from adapters.discord.config import DiscordConfig
from adapters.discord.translate import PLATFORM
from adapters.read_marks import ReadMarks
from bot.records import Conversation
from bot.services.desk import Desk

log = logging.getLogger(__name__)

READERS = 4  # conversations read back at once
GUILD_WAIT = 10.0  # seconds to wait for the server's channels (GUILD_CREATE) when on_ready came first
#: a ticket's conversation never read (opened before catch-up existed, or a mark lost in a crash) is read
#: from a little before the ticket was opened: the opening message itself is taken in already, and is skipped
OPENING_MARGIN = timedelta(minutes=5)

Take = Callable[[discord.Message], Awaitable[bool]]


@dataclass(frozen=True)
class Target:
    channel: int  # an intake channel, a ticket's thread, or a ticket's DM
    opened_at: datetime | None = None  # a ticket's: where to start when its conversation was never read
    thread: int | None = None  # a ticket taken for a DM's, in case `channel` turns out to be a server channel


@dataclass(frozen=True)
class Plan:
    targets: list[Target]
    marks: dict[str, str]  # as stored when the plan was made
    floor: int  # nothing written before this id is read ([discord] catch_up_hours)


@dataclass
class Tally:
    conversations: int = 0
    read: int = 0
    recovered: int = 0
    recovered_in: int = 0  # conversations with something recovered
    unreadable: int = 0


class CatchUp:
    def __init__(self, client: discord.Client, desk: Desk, config: DiscordConfig, marks: ReadMarks, take: Take) -> None:
        self.client = client
        self.desk = desk
        self.config = config
        self.marks = marks
        self.take = take  # a missed message → True when the desk took it in now
        self._open = asyncio.Event()
        self._open.set()
        self._generation = 0
        self._gates: dict[int, asyncio.Event] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.runs = 0  # catch-ups finished (tests wait on it)
        self.last: Tally | None = None

    @property
    def enabled(self) -> bool:
        return self.config.catch_up_messages > 0 and self.config.catch_up_hours > 0

    # --- the live side ----------------------------------------------------------------------------------

    def hold(self) -> None:
        """A new session began (READY): live messages wait until the catch-up has said what it reads back."""
        self._generation += 1
        if self.enabled:
            self._open.clear()

    async def wait_turn(self, channel_id: int) -> None:
        """Before a live message is taken in: wait while its conversation is being read back."""
        await self._open.wait()
        gate = self._gates.get(channel_id)
        if gate is not None:
            await gate.wait()

    def start(self) -> None:
        task = asyncio.create_task(self.run(), name="discord-catch-up")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._open.set()

    # --- reading back -----------------------------------------------------------------------------------

    async def run(self) -> None:
        generation = self._generation
        async with self._lock:
            plan = Plan([], {}, 0)
            try:
                if self.enabled:
                    plan = await self._plan()
            except Exception:
                log.exception("discord: could not plan the catch-up; messages written while away are not read back")
            targets = plan.targets
            gates = {target.channel: asyncio.Event() for target in targets}
            self._gates.update(gates)
            if generation == self._generation:  # else a newer session holds live messages for its own plan
                self._open.set()
            tally = Tally(conversations=len(targets))
            readers = asyncio.Semaphore(READERS)

            async def read(target: Target) -> None:
                async with readers:
                    try:
                        await self._read(plan, target, tally)
                    except discord.HTTPException as exc:
                        tally.unreadable += 1
                        log.warning(
                            "discord: cannot read back channel %s (%s %s) — allow the bot Read Message History there",
                            target.channel,
                            exc.status,
                            exc.text,
                        )
                    except Exception:
                        tally.unreadable += 1
                        log.exception("discord: reading back channel %s failed", target.channel)
                    finally:
                        self._release(target.channel, gates)

            try:
                await asyncio.gather(*(read(target) for target in targets))
            finally:
                for channel in gates:
                    self._release(channel, gates)
            if self.enabled:
                self._report(tally)
            self.last = tally
            self.runs += 1

    def _release(self, channel: int, gates: dict[int, asyncio.Event]) -> None:
        gates[channel].set()
        if self._gates.get(channel) is gates[channel]:
            del self._gates[channel]

    async def _plan(self) -> Plan:
        """Intake channels and open tickets' conversations: what to read back, and from where."""
        await self._server_ready()
        now = self.desk.ctx.clock.now()
        floor = discord.utils.time_snowflake(now - timedelta(hours=self.config.catch_up_hours))
        marks = await self.desk.read_marks(PLATFORM)
        targets: dict[int, Target] = {}
        for channel in self.config.intake_channels:
            if self._newest(marks.get(channel), self.marks.mark(channel)) is None:
                # never read: from now on (what a channel held before it was the desk's is not taken in)
                self.marks.start_at(channel, str(discord.utils.time_snowflake(now)))
                continue
            targets[int(channel)] = Target(int(channel))
        for conversation in await self.desk.open_conversations(PLATFORM):
            target = self._where(conversation)
            if target is not None and target.channel not in targets:
                targets[target.channel] = target
        return Plan(list(targets.values()), marks, floor)

    async def _server_ready(self) -> None:
        """The server's channels tell a ticket's thread from a DM. With a short `guild_ready_timeout`,
        on_ready can come before GUILD_CREATE: wait for it a little."""
        if not self.config.guild_id:
            return
        guild_id = int(self.config.guild_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GUILD_WAIT
        while (guild := self.client.get_guild(guild_id)) is None or guild.unavailable:
            if loop.time() > deadline:
                log.warning("discord: server %s unavailable after %.0f s; catching up without it", guild_id, GUILD_WAIT)
                return
            await asyncio.sleep(0.05)

    @staticmethod
    def _newest(stored: str | None, here: str | None) -> str | None:
        """The stored mark, or this process's when it is further (its write may still be on the way)."""
        if stored is None or here is None:
            return stored or here
        return max(stored, here, key=int)

    def _where(self, conversation: Conversation) -> Target | None:
        """What to read for a ticket: its thread in a server channel, or the DM it lives in."""
        if not conversation.channel.isdigit():
            return None
        thread = int(conversation.thread) if conversation.thread and conversation.thread.isdigit() else None
        parent = self.client.get_channel(int(conversation.channel))
        if isinstance(parent, discord.abc.GuildChannel):
            return Target(thread, conversation.opened_at) if thread else None
        # a DM (discord.py keeps none across a restart) — or a server channel not known yet
        return Target(int(conversation.channel), conversation.opened_at, thread)

    async def _channel(self, channel_id: int) -> discord.abc.Messageable | None:
        found = self.client.get_channel(channel_id)
        if found is None:
            try:  # an archived thread (not in GUILD_CREATE), a DM
                found = await self.client.fetch_channel(channel_id)
            except discord.NotFound:
                return None  # deleted: nothing to read
        return found if isinstance(found, discord.abc.Messageable) else None

    async def _read(self, plan: Plan, target: Target, tally: Tally) -> None:
        channel = await self._channel(target.channel)
        if target.opened_at is not None and isinstance(channel, discord.abc.GuildChannel):
            # a ticket's channel taken for a DM is a server channel after all: read the ticket's thread
            channel = await self._channel(target.thread) if target.thread is not None else None
        if channel is None:
            return
        where = str(getattr(channel, "id", target.channel))
        mark = self._newest(plan.marks.get(where), self.marks.mark(where))
        if mark is not None:
            after = int(mark)
        elif target.opened_at is not None:
            after = discord.utils.time_snowflake(target.opened_at - OPENING_MARGIN)
        else:
            return
        after = max(after, plan.floor)
        limit = self.config.catch_up_messages
        read = recovered = 0
        async for message in channel.history(after=discord.Object(id=after), oldest_first=True, limit=limit):
            read += 1
            position = str(message.id)
            self.marks.begin(where, position)
            taken = False
            try:
                taken = await self.take(message)
            finally:
                self.marks.finish(where, position, write=taken)
            recovered += taken
        self.marks.write_soon(where)
        tally.read += read
        tally.recovered += recovered
        tally.recovered_in += recovered > 0
        if read >= limit:
            log.warning(
                "discord: read back %d messages in channel %s, the bound ([discord] catch_up_messages); "
                "messages written there after those, while the bot was away, were not read",
                read,
                where,
            )

    def _report(self, tally: Tally) -> None:
        log.info(
            "discord: caught up: %d message(s) written while the bot was away taken in, from %d of %d "
            "conversation(s) read back (%d message(s) read; at most %d messages and %g h back each)%s",
            tally.recovered,
            tally.recovered_in,
            tally.conversations,
            tally.read,
            self.config.catch_up_messages,
            self.config.catch_up_hours,
            f"; {tally.unreadable} could not be read" if tally.unreadable else "",
        )


__all__ = ["CatchUp", "Plan", "Tally", "Target"]
