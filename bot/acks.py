"""Acknowledgements before handling: a platform's acknowledgement (Slack's HTTP 200) must not wait for the
handling backlog.

Acks and handling share one event loop, and asyncio runs whatever is ready in turn: with handling busy (more
tickets arriving than the process can handle, the rest waiting in the inbox by design) every step of an ack
waits behind a round of handling steps. So the adapter marks each acknowledgement in flight (`arriving`),
and handling calls `let_through` between its pieces of work (before a message is handled, before a post is
sent): while an ack is in flight it waits, and the loop runs the ack. Its unit of work goes ahead for the
database too (`Store.transaction(first=True)`). Handling keeps its order; it only starts its next piece later.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Acks:
    """The acknowledgements in flight in this process, and the handling waiting for them to pass. Handling
    goes on in the order it came to `let_through` (per-conversation arrival order rests on it): while any
    is waiting, a newcomer queues behind it even when no ack is in flight. The queue is let go one piece
    per turn of the loop."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._waiting = 0  # in `let_through`: queued, or let go and not yet resumed
        self._queue: deque[asyncio.Future[None]] = deque()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """Around the handling of a request that is answered with an acknowledgement."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._let_go()

    async def let_through(self) -> None:
        """Return once no acknowledgement is in flight (at once when none is and nobody waits)."""
        if not self._in_flight and not self._waiting:
            return
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        self._waiting += 1
        try:
            await turn
        finally:
            self._waiting -= 1
            if turn in self._queue:  # cancelled while queued
                self._queue.remove(turn)
            if not self._in_flight:
                self._let_go()  # the next in the queue: it resumes on the loop's next turn

    def _let_go(self) -> None:
        """Let the first waiting piece of handling go; it lets the next go when it resumes (if no ack is in
        flight by then). One at a time, so a queue of handling released at once does not make one long turn
        of the loop that the next acknowledgement waits behind."""
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
