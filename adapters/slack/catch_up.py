"""Catch-up for Slack Socket Mode: what was written in the intake channels while the app had no connection.

In Socket Mode Slack delivers events over one websocket; while it is down (the process stopped, a network
drop, Slack moving the connection), what customers write is not delivered to us. So on every connection
(Slack's `hello`) the app reads each intake channel's history (`conversations.history`) after the newest
`ts` it took in there (its read mark, `adapters.read_marks`) and hands each message to the same intake as
its event: `Desk.accept`, then `Desk.receive` (taking a message in twice changes nothing). Bounded per
channel: at most `[slack] catch_up_messages` messages (Slack pages newest first: the latest ones), none
older than `catch_up_hours`. HTTP mode needs none of this: Slack resends an event until it gets a 200.

Live events keep flowing while a channel is read back (they are kept in the inbox before Slack is
acknowledged); the channel's mark does not move until its read-back is done, so a crash in between reads it
again rather than skipping what was not read yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import WSMessage, WSMsgType
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.read_marks import ReadMarks, decimal_order
from adapters.slack.config import SlackConfig
from adapters.slack.translate import PLATFORM
from bot.services.desk import Desk

log = logging.getLogger(__name__)

PAGE = 200  # messages per conversations.history call (Slack's recommended page size)

Take = Callable[[dict[str, Any]], Awaitable[bool]]


@dataclass
class Tally:
    channels: int = 0
    read: int = 0
    recovered: int = 0
    recovered_in: int = 0
    unreadable: int = 0


def ts_of(moment: float) -> str:
    return f"{moment:.6f}"


class SlackCatchUp:
    def __init__(self, client: AsyncWebClient, desk: Desk, config: SlackConfig, marks: ReadMarks, take: Take) -> None:
        self.client = client
        self.desk = desk
        self.config = config
        self.marks = marks
        self.take = take  # a missed message (as its event) → True when the desk took it in now
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.runs = 0  # catch-ups finished (tests wait on it)
        self.last: Tally | None = None

    @property
    def enabled(self) -> bool:
        return self.config.catch_up_messages > 0 and self.config.catch_up_hours > 0

    async def on_socket_message(self, message: WSMessage) -> None:
        """A Socket Mode listener: Slack says `hello` on every new connection."""
        if message.type is not WSMsgType.TEXT or '"hello"' not in str(message.data):
            return
        try:
            kind = json.loads(message.data).get("type")
        except (ValueError, AttributeError):
            return
        if kind == "hello":
            self.start()

    def start(self) -> None:
        task = asyncio.create_task(self.run(), name="slack-catch-up")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def run(self) -> None:
        async with self._lock:
            tally = Tally()
            if self.enabled:
                try:
                    await self._catch_up(tally)
                except Exception:
                    log.exception("Slack: catch-up failed; messages written while disconnected are not read back")
                self._report(tally)
            self.last = tally
            self.runs += 1

    async def _catch_up(self, tally: Tally) -> None:
        now = self.desk.ctx.clock.now()
        floor = ts_of((now - timedelta(hours=self.config.catch_up_hours)).timestamp())
        stored = await self.desk.read_marks(PLATFORM)
        targets: list[tuple[str, str]] = []
        for channel in self.config.intake_channels:
            mark = self._newest(stored.get(channel), self.marks.mark(channel))
            if mark is None:  # never read: from now on (what a channel held before it was the desk's is not)
                self.marks.start_at(channel, ts_of(now.timestamp()))
                continue
            after = max(mark, floor, key=decimal_order)
            self.marks.begin(channel, after)  # the mark stays here until the channel is read back
            targets.append((channel, after))
        tally.channels = len(targets)
        for channel, after in targets:
            try:
                await self._read(channel, after, tally)
            except SlackApiError as exc:
                tally.unreadable += 1
                log.warning(
                    "Slack: cannot read back %s (%s) — the app needs channels:history (groups:history for a private "
                    "channel) and to be in the channel",
                    channel,
                    exc.response.get("error"),
                )
            finally:
                self.marks.finish(channel, after, write=True)

    async def _read(self, channel: str, after: str, tally: Tally) -> None:
        limit = self.config.catch_up_messages
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        more = False
        while len(found) < limit:
            page = await self.client.conversations_history(
                channel=channel, oldest=after, inclusive=False, limit=min(PAGE, limit - len(found)), cursor=cursor
            )
            found += [m for m in page.get("messages") or () if isinstance(m, dict) and m.get("ts")]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            more = bool(page.get("has_more")) and cursor is not None
            if not more:
                break
        found = sorted(found, key=lambda m: decimal_order(str(m["ts"])))[-limit:]
        recovered = 0
        for message in found:
            position = str(message["ts"])
            self.marks.begin(channel, position)
            taken = False
            try:
                taken = await self.take({**message, "channel": channel, "channel_type": "channel"})
            finally:
                self.marks.finish(channel, position, write=taken)
            recovered += taken
        tally.read += len(found)
        tally.recovered += recovered
        tally.recovered_in += recovered > 0
        if more:
            log.warning(
                "Slack: read back the latest %d messages in %s, the bound ([slack] catch_up_messages); older ones "
                "written while disconnected were not read",
                len(found),
                channel,
            )

    @staticmethod
    def _newest(stored: str | None, here: str | None) -> str | None:
        if stored is None or here is None:
            return stored or here
        return max(stored, here, key=decimal_order)

    def _report(self, tally: Tally) -> None:
        log.info(
            "Slack: caught up: %d message(s) written while disconnected taken in, from %d of %d intake channel(s) "
            "read back (%d message(s) read; at most %d messages and %g h back each)%s",
            tally.recovered,
            tally.recovered_in,
            tally.channels,
            tally.read,
            self.config.catch_up_messages,
            self.config.catch_up_hours,
            f"; {tally.unreadable} could not be read" if tally.unreadable else "",
        )


__all__ = ["SlackCatchUp", "Tally"]
