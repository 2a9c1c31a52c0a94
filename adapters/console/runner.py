"""Run the console: interactive with a TTY, or a script read line by line from a pipe."""

from __future__ import annotations

import asyncio
import contextlib
import sys
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
) -> None:
    """With `background_delivery`, posts go out as soon as anything commits — for channels that run beside
    the console (an e-mail arriving opens a ticket while nobody types)."""
    stdin = stdin or sys.stdin
    write = out or (lambda line: print(line, flush=True))
    interactive = stdin.isatty()

    async def ask(prompt: str) -> str:
        try:
            return await asyncio.to_thread(input, prompt)
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
    try:
        await _read_lines(session, stdin, write, interactive)
    finally:
        for task in (ticking, pumping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    write("Bye — everything is saved in the database.")


async def _read_lines(session: ConsoleSession, stdin: TextIO, write: Callable[[str], None], interactive: bool) -> None:
    while True:
        if interactive:
            try:
                line = await asyncio.to_thread(input, session.prompt)
            except EOFError:
                break
        else:
            raw = await asyncio.to_thread(stdin.readline)
            if not raw:
                break
            line = raw.rstrip("\n")
            if line.startswith("# "):  # a comment in a script
                continue
            if line.strip():
                write(f"{session.prompt}{line}")
        if not await session.handle(line):
            break
