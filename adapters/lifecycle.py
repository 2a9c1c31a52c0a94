"""Running the desk as a service: adapters, delivery worker, scheduler and ops endpoints, until SIGTERM.

On SIGTERM (or Ctrl-C) the shutdown is graceful, in this order: /readyz turns 503 ("shutdown"); every
adapter stops taking new events (Slack HTTP answers 503 so Slack retries the event later, Socket Mode
disconnects) and finishes the ones it took; the units of work in flight finish, and so does a scheduler
tick in progress (a digest being built), after which the scheduler fires nothing new; the delivery worker
sends what it can within `[ops] drain_seconds`; then everything closes (Discord's gateway cleanly) and
the process exits 0. Posts left in the outbox are sent by the next start. Delivery workers running beside
the chat one (`background`: webhooks) are stopped with it, within the same budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta

from adapters.ops_http import OpsServer
from adapters.registry import RunningAdapter
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.health import Probe
from bot.scheduler import Scheduler
from bot.services.desk import Desk

log = logging.getLogger(__name__)

#: After the drain deadline, how long sends already in progress may take before they are cut off.
SEND_GRACE_SECONDS = 5.0


def make_probe(settings: Settings, desk: Desk) -> Probe:
    return Probe(
        desk.ctx.store,
        desk.ctx.clock,
        max_outbox_lag=timedelta(seconds=settings.ops.max_outbox_lag_seconds),
        gate=desk.gate,
        max_inbox_lag=timedelta(seconds=settings.ops.max_inbox_lag_seconds),
    )


async def serve(
    settings: Settings,
    desk: Desk,
    worker: DeliveryWorker,
    scheduler: Scheduler,
    adapters: list[tuple[str, RunningAdapter]],
    *,
    probe: Probe | None = None,
    on_ops_port: Callable[[int], None] | None = None,
    background: Sequence[tuple[DeliveryWorker, asyncio.Task[None]]] = (),
) -> None:
    """Run until a stop signal, then drain (`worker` and every `background` worker with its running task).
    Raises the first error of an adapter that stops on its own."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    probe = probe or make_probe(settings, desk)
    ops = OpsServer(probe, settings.ops.host, settings.ops.port) if settings.ops.enabled else None
    tasks: list[asyncio.Task[None]] = []
    try:
        worker_task = asyncio.create_task(worker.run(), name="delivery")
        tasks.append(worker_task)
        probe.worker_alive = lambda: not worker_task.done()
        scheduler_task = asyncio.create_task(scheduler.run(), name="scheduler")
        tasks.append(scheduler_task)
        recovered = await desk.handle_waiting()  # what a crash left in the inbox, before anything new
        if recovered:
            log.warning("handled %d message(s) received before the last stop but not handled then", recovered)
        tasks.append(asyncio.create_task(desk.retry_waiting_forever(), name="inbox-retry"))
        for name, adapter in adapters:
            probe.platforms[adapter.platform.name] = lambda adapter=adapter: adapter.connected  # type: ignore[misc]
            tasks.append(asyncio.create_task(adapter.serve(desk), name=name))
        if ops is not None:
            port = await ops.start()
            if on_ops_port is not None:
                on_ops_port(port)
        stopper = asyncio.create_task(stop.wait(), name="stop-signal")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        if stopper not in done:
            stopper.cancel()
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            return
        await _drain(settings, desk, [(worker, worker_task), *background], probe, adapters, (scheduler, scheduler_task))
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if ops is not None:
            await ops.stop()


async def _drain(
    settings: Settings,
    desk: Desk,
    workers: Sequence[tuple[DeliveryWorker, asyncio.Task[None]]],
    probe: Probe,
    adapters: list[tuple[str, RunningAdapter]],
    scheduling: tuple[Scheduler, asyncio.Task[None]],
) -> None:
    loop = asyncio.get_running_loop()
    budget = settings.ops.drain_seconds
    deadline = loop.time() + budget
    log.warning("shutting down: no new events; finishing work in flight and flushing the outbox (%gs)", budget)
    probe.shutting_down = True
    desk.gate.draining = True
    scheduler, scheduler_task = scheduling
    scheduler.stop()  # fires nothing new; a tick in progress finishes first, so the flush below sends its posts
    try:
        async with asyncio.timeout_at(deadline):
            await asyncio.gather(*(adapter.stop_intake() for _, adapter in adapters))
            await desk.gate.idle()
            await asyncio.wait([scheduler_task])
    except TimeoutError:
        log.error("shutdown: %s still running after %gs; stopping anyway", _in_flight(desk, scheduler_task), budget)
        scheduler_task.cancel()  # what it had not committed stays due: the next start fires it
    left = max(0.0, deadline - loop.time())
    for worker, _ in workers:
        worker.stop(left)  # chat posts and webhooks flush side by side, within the same budget
    running = asyncio.gather(*(task for _, task in workers), return_exceptions=True)
    try:
        async with asyncio.timeout_at(max(deadline, loop.time()) + SEND_GRACE_SECONDS):
            outcomes = await asyncio.shield(running)
    except TimeoutError:
        log.error("shutdown: deliveries in progress did not finish; they are checked again at the next start")
    else:
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                log.error("shutdown: a delivery worker failed while flushing", exc_info=outcome)
    async with desk.ctx.store.reading() as uow:
        left = await uow.ops_stats.pending_count()
    if left:
        log.warning("shutdown: %d post(s) left in the outbox; the next start sends them", left)
    else:
        log.warning("shutdown: outbox flushed; stopped cleanly")


def _in_flight(desk: Desk, scheduler_task: asyncio.Task[None]) -> str:
    """What a drain that ran out of time was still waiting for, as the log line names it."""
    running = [f"{desk.gate.in_flight} unit(s) of work"] if desk.gate.in_flight else []
    if not scheduler_task.done():
        running.append("the scheduler's timers and digests")
    return " and ".join(running) or "nothing"
