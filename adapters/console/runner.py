"""Run the console: interactive with a TTY, or a script read line by line from a pipe.

With a `stop` event (set on SIGTERM by `threaddesk console`/`run`), the console stops like `threaddesk run`:
the line in hand is finished, the outbox is flushed for up to `drain_seconds`, and it returns (exit 0).
Lines are read in a daemon thread, so a read still waiting for the keyboard or the pipe never holds up the
exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from adapters.console.config import ConsoleConfig
from adapters.console.platform import ConsolePlatform
from adapters.console.session import ConsoleSession
from bot.delivery import DeliveryWorker
from bot.scheduler import Scheduler
from bot.services.desk import Desk
from bot.waiting import until_set

RETRY_POLL_SECONDS = 5.0

log = logging.getLogger(__name__)


async def _in_daemon_thread(read: Callable[[], str]) -> str:
    """`read()` in a daemon thread of its own. Unlike `asyncio.to_thread`, a read still blocked when the
    console stops (nobody typed, the pipe is open) does not keep the process from exiting."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(value: str | None, error: BaseException | None) -> None:
        if answer.done():
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(value or "")

    def reading() -> None:
        try:
            value = read()
        except BaseException as exc:  # EOFError (Ctrl-D) included: handed to the awaiting side
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
                loop.call_soon_threadsafe(settle, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=reading, name="console-input", daemon=True).start()
    return await answer


def make_platform() -> ConsolePlatform:
    return ConsolePlatform(show=lambda post: None)  # the session installs the real printer


async def run_console(
    desk: Desk,
    worker: DeliveryWorker,
    platform: ConsolePlatform,
    config: ConsoleConfig,
    *,
    stdin: TextIO | None = None,
    out: Callable[[str], None] | None = None,
    scheduler: Scheduler | None = None,
    background_delivery: bool = False,
    stop: asyncio.Event | None = None,
    drain_seconds: float = 10.0,
) -> None:
    """With `background_delivery`, posts go out as soon as anything commits — for channels that run beside
    the console (an e-mail arriving opens a ticket while nobody types). When `stop` is set (SIGTERM), the
    line being handled finishes, no further line is read, and the outbox is flushed for up to
    `drain_seconds`; what is left goes out at the next start."""
    stdin = stdin or sys.stdin
    write = out or (lambda line: print(line, flush=True))
    interactive = stdin.isatty()

    async def ask(prompt: str) -> str:
        try:
            return await _in_daemon_thread(lambda: input(prompt))
        except EOFError:
            return ""

    session = ConsoleSession(desk, worker, platform, config, write, ask if interactive else None)
    write(
        f"ThreadDesk console — you are {session.me.display} ({session.role.value}) in "
        f"{session.label(session.place.channel, None)}."
    )
    write("Write a message to open a ticket. /as bob to switch person, /help for more, Ctrl-D to quit.")
    await session.deliver()  # whatever an earlier run left undelivered goes out first
    ticking: asyncio.Task[None] | None = None
    if scheduler is not None:

        async def show_what_fired(done: list[str]) -> None:
            await session.deliver()

        await scheduler.start()
        await scheduler.tick()  # what fell due while the console was closed fires now, late, once
        await session.deliver()
        ticking = asyncio.create_task(scheduler.run(after_tick=show_what_fired), name="scheduler")
    pumping: asyncio.Task[None] | None = None
    if background_delivery:
        wake = asyncio.Event()
        desk.ctx.store.after_commit(wake.set)

        async def pump() -> None:
            while True:
                await until_set(wake, RETRY_POLL_SECONDS)  # the timeout picks up retries that fall due
                wake.clear()
                await session.deliver()

        pumping = asyncio.create_task(pump(), name="console-delivery")
    stop = stop or asyncio.Event()
    try:
        await _read_lines(session, stdin, write, interactive, stop)
    finally:
        for task in (ticking, pumping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    if stop.is_set():
        await _flush(session, drain_seconds)
    write("Bye — everything is saved in the database.")


async def _flush(session: ConsoleSession, drain_seconds: float) -> None:
    """SIGTERM: send what the outbox holds, for up to `drain_seconds` (the same budget as `threaddesk run`)."""
    try:
        async with asyncio.timeout(drain_seconds):
            await session.deliver()
    except TimeoutError:
        log.error("shutdown: the outbox could not be flushed within %gs", drain_seconds)
    async with session.desk.ctx.store.reading() as uow:
        left = await uow.ops_stats.pending_count()
    if left:
        log.warning("shutdown: %d post(s) left in the outbox; the next start sends them", left)
    else:
        log.warning("shutdown: outbox flushed; stopped cleanly")


async def _read_lines(
    session: ConsoleSession, stdin: TextIO, write: Callable[[str], None], interactive: bool, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        if interactive:
            reading = asyncio.ensure_future(_in_daemon_thread(lambda: input(session.prompt)))
        else:
            reading = asyncio.ensure_future(_in_daemon_thread(stdin.readline))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait((reading, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not reading.done():  # stopped while waiting for a line: none is in hand
            reading.cancel()
            break
        try:
            raw = reading.result()
        except EOFError:
            break
        if interactive:
            line = raw
        else:
            if not raw:
                break
            line = raw.rstrip("\n")
            if line.startswith("# "):  # a comment in a script
                continue
            if line.strip():
                write(f"{session.prompt}{line}")
        if not await session.handle(line):  # the line in hand is finished even when a stop arrives meanwhile
            break
    if stop.is_set():
        log.warning("shutting down: no new lines; flushing the outbox")
