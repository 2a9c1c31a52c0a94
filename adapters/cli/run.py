"""`threaddesk run` and `threaddesk console`: the composition root at work — config → store → core →
chat platforms, with the scheduler, the delivery worker, webhooks, the web dashboard and the ops endpoints
beside them, until interrupted or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from adapters import lifecycle, log_setup
from adapters.cli.app import SPECS, ConfigOpt, DbOpt, _database, _fail, _knowledge_base, _settings, app, err
from adapters.console.config import ConsoleConfig
from adapters.console.runner import make_platform, run_console
from adapters.help import example
from adapters.ops_http import OpsServer, OpsStartupError, add_ops_routes
from adapters.registry import AdapterSpec, AdapterStartupError, RunningAdapter
from adapters.web import app as web_app
from adapters.webhooks.runtime import webhook_delivery
from adapters.webhooks.sender import WebhookSetupError, load_endpoints
from bot.bootstrap import build_desk
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.health import Probe
from bot.ports import ChatPlatform, Clock, Store, SystemClock
from bot.scheduler import Scheduler
from bot.writer_lease import writer_lease

log = logging.getLogger(__name__)

#: More routes for the `[web]` server (each a function taking the aiohttp Application), e.g. health checks.
WEB_EXTENSIONS: list[web_app.Extension] = []

VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log what the bot does to stderr.")]
LogFormatOpt = Annotated[
    str | None,
    typer.Option("--log-format", help="text or json (one object per line); default: [ops] log_format, else text."),
]


def _serving_settings(config: Path | None, db: Path | None) -> Settings:
    """Settings for a command that serves: webhook secrets are checked before anything slow starts."""
    settings = _settings(config, db)
    try:
        load_endpoints(settings.webhooks)
    except WebhookSetupError as exc:
        raise _fail(str(exc)) from None
    return settings


def _logging(verbose: bool, log_format: str | None = None, settings: Settings | None = None) -> None:
    if log_format not in (None, "text", "json"):
        raise _fail(f"--log-format must be text or json, not {log_format!r}")
    chosen = log_format or (settings.ops.log_format if settings else "text")
    log_setup.configure(verbose=verbose, log_format=chosen)


@contextlib.asynccontextmanager
async def _running_database(settings: Settings) -> AsyncIterator[Store]:
    """The database for a running bot: this process holds it, or it stops with who does."""
    async with _database(settings) as db:
        log.info("desk database: %s (%s, schema version %d)", db.location, db.engine, await db.schema_version())
        # one process per SQLite file (`bot.writer_lease`); PostgreSQL is made for many at once
        if db.engine == "sqlite":
            async with writer_lease(db, SystemClock(), timedelta(seconds=settings.store.lease_seconds)):
                yield db
        else:
            yield db


async def _run_console(settings: Settings, beside: Sequence[AdapterSpec] = ()) -> None:
    """The console; channels whose agents work in it (e-mail with `agents_platform = "console"`) run beside."""
    console_config = settings.adapters["console"]
    assert isinstance(console_config, ConsoleConfig)
    running = []
    for spec in beside:
        assert spec.build is not None
        try:
            running.append(spec.build(settings.adapters[spec.name], settings))
        except AdapterStartupError as exc:
            raise _fail(str(exc), code=1) from None
    async with _running_database(settings) as db:
        desk = build_desk(settings, db, kb=await _knowledge_base(settings, db), clock=SystemClock())
        platform = make_platform()
        platforms: dict[str, ChatPlatform] = {platform.name: platform}
        platforms.update({adapter.platform.name: adapter.platform for adapter in running})
        worker = DeliveryWorker(db, platforms, desk.ctx.clock, acks=desk.acks)
        scheduler = _scheduler(settings, desk)
        probe = lifecycle.make_probe(settings, desk)
        probe.platforms[platform.name] = lambda: True  # the terminal is always there
        for adapter in running:
            probe.platforms[adapter.platform.name] = lambda adapter=adapter: adapter.connected  # type: ignore[misc]
        extensions = [*WEB_EXTENSIONS, lambda app: add_ops_routes(app, probe)]  # /healthz … on the dashboard too
        async with (
            _webhooks(settings, db, desk.ctx.clock),
            _web(settings, desk, required=False, extensions=extensions),
            _ops(settings, probe),
            _serving(running, desk),
            _stopping_on_sigterm(probe, running) as stop,
        ):
            await run_console(
                desk,
                worker,
                platform,
                console_config,
                scheduler=scheduler,
                background_delivery=bool(running),
                stop=stop,
                drain_seconds=settings.ops.drain_seconds,
            )


@contextlib.asynccontextmanager
async def _ops(settings: Settings, probe: Probe) -> Any:
    """/healthz, /readyz and /metrics on `[ops] host/port` when `[ops] enabled`."""
    if not settings.ops.enabled:
        yield
        return
    server = OpsServer(probe, settings.ops.host, settings.ops.port)
    try:
        await server.start()
    except OpsStartupError as exc:
        raise _fail(str(exc), code=1) from None
    try:
        yield
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def _stopping_on_sigterm(probe: Probe, beside: Sequence[RunningAdapter]) -> Any:
    """An event set on SIGTERM: /readyz turns 503 (`shutdown`), channels beside the console stop taking new
    events, and the console finishes the line in hand and flushes the outbox (see `run_console`)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    tasks: set[asyncio.Task[Any]] = set()

    def stopping() -> None:
        if stop.is_set():
            return
        probe.shutting_down = True
        for adapter in beside:
            task = asyncio.ensure_future(adapter.stop_intake())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, stopping)
    try:
        yield stop
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


@contextlib.asynccontextmanager
async def _serving(adapters: Sequence[RunningAdapter], desk: Any) -> Any:
    """Serve `adapters` in the background; wait until each that says when it is ready (`ready`) is."""
    tasks = [asyncio.create_task(adapter.serve(desk)) for adapter in adapters]
    try:
        for adapter, task in zip(adapters, tasks, strict=True):
            ready = getattr(adapter, "ready", None)
            if isinstance(ready, asyncio.Event):
                waiting = asyncio.create_task(ready.wait())
                await asyncio.wait((task, waiting), return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                if task.done() and task.exception() is not None:
                    exc = task.exception()
                    raise _fail(str(exc), code=1) if isinstance(exc, AdapterStartupError) else exc  # type: ignore[misc]
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@contextlib.asynccontextmanager
async def _webhooks(settings: Settings, db: Store, clock: Clock) -> Any:
    try:
        async with webhook_delivery(settings, db, clock) as delivery:
            yield delivery
    except WebhookSetupError as exc:
        raise _fail(str(exc)) from None


@contextlib.asynccontextmanager
async def _web(
    settings: Settings, desk: Any, *, required: bool = True, extensions: list[web_app.Extension] | None = None
) -> Any:
    """The web dashboard next to the chat platforms, when `[web] enabled`. The console (a local playground)
    runs on without it when its port is taken; `threaddesk run` with chat platforms stops with the reason."""
    if not settings.web.enabled:
        yield
        return
    async with contextlib.AsyncExitStack() as stack:
        try:
            url = await stack.enter_async_context(
                web_app.serve(desk, settings.web, WEB_EXTENSIONS if extensions is None else extensions)
            )
        except web_app.WebStartupError as exc:
            if required:
                raise _fail(str(exc), code=1) from None
            err.print(f"{exc}; the console runs without the dashboard.", style="yellow")
            desk.ctx.dashboard = None
        else:
            err.print(f"Web dashboard on {url} — type /dashboard in chat for a sign-in link.")
        yield


def _scheduler(settings: Settings, desk: Any) -> Scheduler:
    return Scheduler(
        desk.ctx, settings.digests, charts_dir=desk.ctx.charts_dir, message_days=settings.retention.message_days
    )


@app.command(
    epilog=example("threaddesk run --config config.toml -v", "THREADDESK_DB=/var/lib/threaddesk.db threaddesk run")
)
def run(
    config: ConfigOpt = None, db: DbOpt = None, verbose: VerboseOpt = False, log_format: LogFormatOpt = None
) -> None:
    """Start the bot on the chat platforms enabled in the config.

    With no platform enabled, the local console workspace starts instead. SIGTERM stops it gracefully
    (see README "Stopping and upgrading").
    """
    _logging(verbose, log_format)
    settings = _serving_settings(config, db)
    _logging(verbose, log_format, settings)
    enabled = [spec for spec in SPECS if spec.build is not None and settings.adapters[spec.name].enabled]
    beside = [spec for spec in enabled if settings.adapters[spec.name].agents_platform == "console"]
    chat = [spec for spec in enabled if spec not in beside]
    if not chat:  # no chat platform: the console, with e-mail (if on) beside it
        asyncio.run(_run_console(settings, beside))
        return
    if beside:
        name, other = beside[0].name, chat[0].name
        raise _fail(
            f"[{name}] agents_platform is 'console', but {other} is running: "
            f'set [{name}] agents_platform = "{other}" so agents see those tickets there'
        )
    gc.disable()  # while starting: see `adapters.cli` (the platforms' libraries and the store's driver load now)
    try:
        asyncio.run(_run_platforms(settings, enabled))
    except (AdapterStartupError, OpsStartupError) as exc:
        raise _fail(str(exc), code=1) from None
    except KeyboardInterrupt:
        pass
    finally:
        gc.enable()


async def _run_platforms(settings: Settings, specs: list[AdapterSpec]) -> None:
    """Every enabled chat platform, one delivery worker for all of them, until interrupted."""
    running: list[tuple[str, RunningAdapter]] = []
    for spec in specs:
        assert spec.build is not None
        running.append((spec.name, spec.build(settings.adapters[spec.name], settings)))
    sources = [source for _, adapter in running for source in adapter.role_sources]
    groups = [source for _, adapter in running for source in adapter.member_sources]
    names = [source for _, adapter in running for source in adapter.name_sources]
    async with _running_database(settings) as db:
        kb = await _knowledge_base(settings, db)
        desk = build_desk(
            settings, db, kb=kb, clock=SystemClock(), role_sources=sources, member_sources=groups, name_sources=names
        )
        worker = DeliveryWorker(
            db, {adapter.platform.name: adapter.platform for _, adapter in running}, desk.ctx.clock, acks=desk.acks
        )
        probe = lifecycle.make_probe(settings, desk)
        extensions = [*WEB_EXTENSIONS, lambda app: add_ops_routes(app, probe)]  # /healthz … on the dashboard too
        async with _webhooks(settings, db, desk.ctx.clock) as hooks, _web(settings, desk, extensions=extensions):
            background = [(hooks.worker, hooks.task)] if hooks is not None else []
            gc.freeze()  # started: what start-up made lives as long as the process
            gc.enable()
            await lifecycle.serve(
                settings, desk, worker, _scheduler(settings, desk), running, probe=probe, background=background
            )


@app.command(epilog=example("threaddesk console", "threaddesk console --db demo.db < demo.txt"))
def console(config: ConfigOpt = None, db: DbOpt = None, verbose: VerboseOpt = False) -> None:
    """A local workspace in this terminal.

    Play customer, agent and team lead (`/as NAME`); pipe a script into it too.
    """
    _logging(verbose)
    settings = _serving_settings(config, db)
    _logging(verbose, None, settings)
    beside = [
        spec
        for spec in SPECS
        if spec.build is not None
        and settings.adapters[spec.name].enabled
        and settings.adapters[spec.name].agents_platform == "console"
    ]
    asyncio.run(_run_console(settings, beside))
