"""Catch-up after downtime, the part chat adapters share: how far this process has taken in each conversation,
written down as read marks (`Desk.mark_read`) so that the next start — or a reconnect that lost its session —
reads back only what was written after them.

A message is *begun* when the platform hands it over (in arrival order, before its handler awaits anything)
and *finished* once the desk has kept it in the inbox or handled it. A conversation's mark is the newest
position such that every message begun there up to it has finished. Handlers run concurrently — a DM waits
for a database read, a private thread for Discord — so a later message can finish first; a mark past an
unfinished one would lose that one in a crash. Marks are written in the background, coalesced: a burst of
messages costs a few small writes, and a mark that lags only makes the next catch-up read a little more
(taking a message in is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Order = Callable[[str], tuple[int, ...]]
Record = Callable[[str, dict[str, str]], Awaitable[None]]  # `Desk.mark_read`


def decimal_order(position: str) -> tuple[int, ...]:
    """Discord ids and Slack timestamps (`1700000000.000100`) as numbers: seconds, then the fraction."""
    whole, _, fraction = position.partition(".")
    return (int(whole), int(fraction.ljust(6, "0")) if fraction else 0)


class ReadMarks:
    def __init__(self, record: Record, platform: str, order: Order = decimal_order) -> None:
        self.record = record
        self.platform = platform
        self.order = order
        self._pending: dict[str, Counter[str]] = {}  # begun, not finished
        #: the pending positions in order, lowest first, as heaps like `_finished` (a burst keeps thousands in
        #: flight in one channel); a finished one leaves when it reaches the top
        self._queue: dict[str, list[tuple[tuple[int, ...], str]]] = {}
        self._finished: dict[str, list[tuple[tuple[int, ...], str]]] = {}  # finished above one still pending
        self._marks: dict[str, str] = {}
        self._written: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._writer: asyncio.Task[None] | None = None

    def mark(self, channel: str) -> str | None:
        """How far `channel` has been taken in by this process (None: nothing finished there yet)."""
        return self._marks.get(channel)

    def begin(self, channel: str, position: str) -> None:
        pending = self._pending.setdefault(channel, Counter())
        if not pending[position]:
            heapq.heappush(self._queue.setdefault(channel, []), (self.order(position), position))
        pending[position] += 1

    def finish(self, channel: str, position: str, *, write: bool) -> None:
        """`position` was taken in (or needed nothing). `write`: record the conversation's mark soon — when the
        message concerned the desk; chatter around it moves the mark without a write of its own."""
        pending = self._pending.get(channel)
        if pending is not None and pending[position] > 0:
            pending[position] -= 1
            if pending[position] == 0:
                del pending[position]
            if not pending:
                del self._pending[channel]
        self._settle(channel, position)
        if write:
            self.write_soon(channel)

    def start_at(self, channel: str, position: str) -> None:
        """A conversation read for the first time: it counts as read up to `position` (now)."""
        self._settle(channel, position)
        self.write_soon(channel)

    def _settle(self, channel: str, position: str) -> None:
        finished = self._finished.setdefault(channel, [])
        heapq.heappush(finished, (self.order(position), position))
        lowest = self._lowest_pending(channel)
        newest = None
        while finished and (lowest is None or finished[0][0] < lowest):
            newest = heapq.heappop(finished)  # lowest first: the last one taken is the newest
        if newest is not None:
            current = self._marks.get(channel)
            if current is None or newest[0] > self.order(current):
                self._marks[channel] = newest[1]
        if not finished:
            del self._finished[channel]

    def _lowest_pending(self, channel: str) -> tuple[int, ...] | None:
        pending = self._pending.get(channel)
        if not pending:
            self._queue.pop(channel, None)
            return None
        queue = self._queue[channel]
        while queue[0][1] not in pending:  # finished since it was queued
            heapq.heappop(queue)
        return queue[0][0]

    def write_soon(self, channel: str) -> None:
        if self._marks.get(channel) not in (None, self._written.get(channel)):
            self._dirty.add(channel)
        if self._dirty and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write(), name=f"{self.platform}-read-marks")

    async def _write(self) -> None:
        while self._dirty:
            channels, self._dirty = self._dirty, set()
            marks = {c: self._marks[c] for c in channels}
            try:
                await self.record(self.platform, marks)
            except Exception as exc:  # the next message tries again; a mark behind only means more to read back
                self._dirty |= channels
                log.warning("%s: read marks not recorded (%s); will try again", self.platform, exc)
                return
            for channel, position in marks.items():
                written = self._written.get(channel)
                if written is None or self.order(position) > self.order(written):
                    self._written[channel] = position

    async def flush(self) -> None:
        """Write what is pending now (on a clean stop)."""
        if self._writer is not None and not self._writer.done():
            with contextlib.suppress(Exception):
                await self._writer
        if self._dirty:
            await self._write()


__all__ = ["ReadMarks", "decimal_order"]
