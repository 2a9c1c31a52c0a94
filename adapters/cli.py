"""`threaddesk` — the command line and the composition root: config → store → core → adapters."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from adapters import incident_replay, kb_cli, lifecycle, log_setup, ops_cli, transcript_export, web_cli
from adapters.console.config import ConsoleConfig
from adapters.console.runner import make_platform, run_console
from adapters.discord import SPEC as DISCORD
from adapters.discord import invite as discord_invite
from adapters.discord.config import TOKEN_ENV as DISCORD_TOKEN_ENV
from adapters.discord.config import DiscordConfig
from adapters.email import SPEC as EMAIL
from adapters.help import example
from adapters.kb_eval_command import KB_EVAL_EXAMPLES, kb_eval
from adapters.ops_http import OpsServer, OpsStartupError, add_ops_routes
from adapters.progress import ProgressBars
from adapters.registry import AdapterSpec, AdapterStartupError, RunningAdapter
from adapters.slack import SPEC as SLACK
from adapters.web import app as web_app
from adapters.webhooks import commands as webhook_commands
from adapters.webhooks.runtime import webhook_delivery
from adapters.webhooks.sender import WebhookSetupError, load_endpoints
from bot import records
from bot.bootstrap import build_desk, open_knowledge_base, seed_knowledge_base
from bot.config import ConfigError, PlatformChannels, Settings, load_settings
from bot.delivery import DeliveryWorker
from bot.domain.ticket import Status, Ticket
from bot.health import Probe
from bot.ports import ChatPlatform, Clock, Store, StoreUnavailable, SystemClock
from bot.records import Event, LoggedMessage, TicketQuery
from bot.scheduler import Scheduler
from bot.services import macro_files
from bot.services.history_text import describe_event
from bot.services.knowledge import ImportOutcome, KnowledgeLibrary
from bot.sla_config import parse_duration
from bot.storage import open_store
from bot.writer_lease import writer_lease
from kb.loader import ArticleError

#: Articles from which the first index build shows a progress bar (100,000 take seconds).
LARGE_KB = 5_000
SPECS: tuple[AdapterSpec, ...] = (AdapterSpec("console", ConsoleConfig), SLACK, DISCORD, EMAIL)
ADAPTERS: dict[str, type[PlatformChannels]] = {spec.name: spec.config_model for spec in SPECS}
#: More routes for the `[web]` server (each a function taking the aiohttp Application), e.g. health checks.
WEB_EXTENSIONS: list[web_app.Extension] = []

# Plain help (rich_markup_mode=None): help texts name `[store] path` and `.[semantic]`, which rich markup would
# swallow, and rich mode prints a `<bool>` metavar beside every flag.
app = typer.Typer(
    help="ThreadDesk — a support desk that lives in chat.",
    epilog=example("threaddesk run --config config.toml", "threaddesk kb search 'password reset' --limit 3"),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(
    help="Store maintenance.", epilog=example("threaddesk db migrate"), no_args_is_help=True, rich_markup_mode=None
)
tickets_app = typer.Typer(
    help="The queue in your terminal.",
    epilog=example("threaddesk tickets list", "threaddesk tickets show 42"),
    no_args_is_help=True,
    rich_markup_mode=None,
)
kb_app = typer.Typer(
    help="The knowledge base: articles, search, statistics and evaluation.",
    epilog=example("threaddesk kb list", "threaddesk kb search 'refund for last month'"),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(db_app, name="db")
app.add_typer(tickets_app, name="tickets")
app.add_typer(kb_app, name="kb")
macros_app = typer.Typer(
    help="Macros (canned replies with actions) as Markdown files.",
    epilog=example("threaddesk macros import macros/", "threaddesk macros export macros/"),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(macros_app, name="macros")
discord_app = typer.Typer(
    help="Discord: adding the bot to your server.",
    epilog=example("threaddesk discord invite-url --config config.toml"),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(discord_app, name="discord")
kb_app.command("eval", epilog=KB_EVAL_EXAMPLES)(kb_eval)
incidents_app = typer.Typer(
    help="Incidents: replay a stream of reports through detection.",
    epilog=example("threaddesk incidents replay stream.jsonl --config config.toml --json"),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(incidents_app, name="incidents")
app.add_typer(web_cli.app, name="web")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="THREADDESK_CONFIG", help="TOML config (see config.example.toml)."),
]
DbOpt = Annotated[
    Path | None, typer.Option("--db", envvar="THREADDESK_DB", help="SQLite file; overrides [store] path.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log what the bot does to stderr.")]
LogFormatOpt = Annotated[
    str | None,
    typer.Option("--log-format", help="text or json (one object per line); default: [ops] log_format, else text."),
]

# markup off: ticket text is user input and may contain [brackets]
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"error: {message}", style="red")
    return typer.Exit(code)


def _settings(config: Path | None, db: Path | None) -> Settings:
    try:
        return load_settings(config, ADAPTERS, db_override=db)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


app.add_typer(webhook_commands.build_app(_settings, _fail), name="webhooks")


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
async def _database(settings: Settings) -> AsyncIterator[Store]:
    path = settings.resolve(settings.store.path)
    try:
        async with open_store(path, check=True, synchronous=settings.store.synchronous) as db:
            yield db
    except StoreUnavailable as exc:
        raise _fail(str(exc)) from None


@contextlib.asynccontextmanager
async def _running_database(settings: Settings) -> AsyncIterator[Store]:
    """The database for a running bot: this process holds it, or it stops with who does."""
    async with (
        _database(settings) as db,
        writer_lease(db, SystemClock(), timedelta(seconds=settings.store.lease_seconds)),
    ):
        yield db


async def _knowledge_base(settings: Settings, db: Store) -> KnowledgeLibrary:
    try:
        # a bar only for a large KB: the sample's 18 articles index in milliseconds
        with ProgressBars(err, min_total=LARGE_KB) as progress:
            return await open_knowledge_base(settings, db, SystemClock(), progress=progress)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


@contextlib.asynccontextmanager
async def _kb_database(settings: Settings) -> Any:
    """The database, with an empty knowledge base first seeded from `[kb] path` as the bot would."""
    async with _database(settings) as db:
        try:
            await seed_knowledge_base(settings, db, SystemClock())
        except ConfigError as exc:
            raise _fail(str(exc)) from None
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
        worker = DeliveryWorker(db, platforms, desk.ctx.clock)
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
    try:
        asyncio.run(_run_platforms(settings, enabled))
    except (AdapterStartupError, OpsStartupError) as exc:
        raise _fail(str(exc), code=1) from None
    except KeyboardInterrupt:
        pass


async def _run_platforms(settings: Settings, specs: list[AdapterSpec]) -> None:
    """Every enabled chat platform, one delivery worker for all of them, until interrupted."""
    running: list[tuple[str, RunningAdapter]] = []
    for spec in specs:
        assert spec.build is not None
        running.append((spec.name, spec.build(settings.adapters[spec.name], settings)))
    sources = [source for _, adapter in running for source in adapter.role_sources]
    async with _running_database(settings) as db:
        kb = await _knowledge_base(settings, db)
        desk = build_desk(settings, db, kb=kb, clock=SystemClock(), role_sources=sources)
        worker = DeliveryWorker(db, {adapter.platform.name: adapter.platform for _, adapter in running}, desk.ctx.clock)
        probe = lifecycle.make_probe(settings, desk)
        extensions = [*WEB_EXTENSIONS, lambda app: add_ops_routes(app, probe)]  # /healthz … on the dashboard too
        async with _webhooks(settings, db, desk.ctx.clock) as hooks, _web(settings, desk, extensions=extensions):
            background = [(hooks.worker, hooks.task)] if hooks is not None else []
            await lifecycle.serve(
                settings, desk, worker, _scheduler(settings, desk), running, probe=probe, background=background
            )


ops_cli.register(db_app, app, lambda config, db: _settings(config, db), _fail)


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


@db_app.command("migrate", epilog=example("threaddesk db migrate --db threaddesk.db"))
def db_migrate(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Create the database or bring its schema up to date."""
    settings = _settings(config, db)

    async def main() -> None:
        async with open_store(settings.resolve(settings.store.path), migrate=False) as database:
            applied = await database.migrate()
            version = await database.schema_version()
        if applied:
            out.print(f"Migrated {database.location} to schema version {version} (applied {applied}).")
        else:
            out.print(f"{database.location} is up to date (schema version {version}).")

    try:
        asyncio.run(main())
    except StoreUnavailable as exc:
        raise _fail(str(exc)) from None


@db_app.command("check", epilog=example("threaddesk db check --db threaddesk.db", "threaddesk db check --full"))
def db_check(
    config: ConfigOpt = None,
    db: DbOpt = None,
    full: Annotated[bool, typer.Option("--full", help="Also cross-check every index (slower).")] = False,
) -> None:
    """Check the database file for damage (SQLite's integrity check); exit 1 if anything is wrong."""
    settings = _settings(config, db)

    async def main() -> list[str]:
        async with open_store(settings.resolve(settings.store.path), migrate=False) as database:
            return await database.integrity_problems(full=full)

    try:
        problems = asyncio.run(main())
    except StoreUnavailable as exc:
        raise _fail(str(exc)) from None
    path = settings.resolve(settings.store.path)
    if problems:
        for problem in problems[:20]:
            err.print(f"{path}: {problem}")
        raise _fail(f"{path} is damaged ({len(problems)} problem(s)) — restore it from a backup", code=1)
    out.print(f"{path}: no damage found ({'integrity_check' if full else 'quick_check'}).")


@kb_app.command(
    "import", epilog=example("threaddesk kb import articles/", "threaddesk kb import kb/sample --db threaddesk.db")
)
def kb_import(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="Folder of Markdown articles with front matter.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Import Markdown articles from a folder.

    New ones are added, changed ones get a new version; bad files are reported and the rest still import.
    """
    settings = _settings(config, db)
    if not folder.is_dir():
        raise _fail(f"{folder} is not a folder")

    async def main() -> tuple[ImportOutcome, list[ArticleError]]:
        async with _database(settings) as database:
            with ProgressBars(err) as progress:
                return await kb_cli.import_folder(database, folder, SystemClock(), progress)

    outcome, errors = asyncio.run(main())
    for error in errors:
        err.print(f"skipped {error}", style="yellow")
    out.print(f"Imported from {folder}: {outcome.added} new, {outcome.updated} updated, {outcome.unchanged} unchanged.")
    if errors:
        raise typer.Exit(1)


@kb_app.command("export", epilog=example("threaddesk kb export articles/"))
def kb_export(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Folder to write <id>.md files into (created if missing).")
    ],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Write every article to a folder as Markdown.

    Each article becomes <id>.md with front matter; learned aliases stay in the database.
    """
    settings = _settings(config, db)

    async def main() -> list[Path]:
        async with _kb_database(settings) as database:
            return await kb_cli.export_folder(database, folder)

    out.print(f"Wrote {len(asyncio.run(main()))} article(s) to {folder}.")


@macros_app.command("import", epilog=example("threaddesk macros import macros/"))
def macros_import(
    folder: Annotated[Path, typer.Argument(help="Folder of Markdown macros with front matter.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Import macros: new ones are added, changed ones get a new version; bad files are reported."""
    settings = _settings(config, db)
    if not folder.is_dir():
        raise _fail(f"{folder} is not a folder")

    async def main() -> macro_files.ImportResult:
        async with _kb_database(settings) as database:
            return await macro_files.import_folder(database, folder, at=SystemClock().now())

    result = asyncio.run(main())
    for error in result.errors:
        err.print(f"skipped {error}", style="yellow")
    out.print(f"Imported from {folder}: {result.added} new, {result.updated} updated, {result.unchanged} unchanged.")
    if result.errors:
        raise typer.Exit(1)


@macros_app.command("export", epilog=example("threaddesk macros export macros/"))
def macros_export(
    folder: Annotated[Path, typer.Argument(help="Folder to write <name>.md files into (created if missing).")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Write every macro as Markdown with front matter (personal ones as <name>@<owner>.md)."""
    settings = _settings(config, db)

    async def main() -> list[Path]:
        async with _database(settings) as database:
            return await macro_files.export_folder(database, folder)

    out.print(f"Wrote {len(asyncio.run(main()))} macro(s) to {folder}.")


@kb_app.command("list", epilog=example("threaddesk kb list --config config.toml"))
def kb_list(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """List every article with its authored and learned aliases."""
    settings = _settings(config, db)

    async def main() -> Table:
        async with _kb_database(settings) as database:
            return await kb_cli.list_table(database)

    out.print(asyncio.run(main()))


@kb_app.command("show", epilog=example("threaddesk kb show reset-password"))
def kb_show(
    article: Annotated[str, typer.Argument(metavar="ARTICLE", help="The article's id (see `threaddesk kb list`).")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Show one article: aliases, learned wordings, body and versions."""
    settings = _settings(config, db)

    async def main() -> str | None:
        async with _kb_database(settings) as database:
            return await kb_cli.show_text(database, article)

    text = asyncio.run(main())
    if text is None:
        raise _fail(f"there is no article '{article}' (see `threaddesk kb list`)", code=1)
    out.print(text)


@kb_app.command("search", epilog=example("threaddesk kb search 'the reset email never arrives' --limit 3"))
def kb_search(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What a customer would write.")],
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="Show this many.")] = 5,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Rank articles for a message.

    Shows each score and whether it clears the suggestion threshold.
    """
    settings = _settings(config, db)

    async def main() -> Table:
        async with _database(settings) as database:
            library = await _knowledge_base(settings, database)
            return await kb_cli.search_table(database, library, text, limit)

    out.print(asyncio.run(main()))


@kb_app.command("stats", epilog=example("threaddesk kb stats --db threaddesk.db"))
def kb_stats(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """How each article is used.

    Per article: suggested, accepted, rejected, and tickets it helped resolve.
    """
    settings = _settings(config, db)

    async def main() -> Table:
        async with _kb_database(settings) as database:
            return await kb_cli.stats_table(database)

    out.print(asyncio.run(main()))


class StatusFilter(StrEnum):
    ACTIVE = "active"
    ALL = "all"
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


def _statuses(choice: StatusFilter) -> list[Status]:
    if choice is StatusFilter.ALL:
        return []
    if choice is StatusFilter.ACTIVE:
        return [s for s in Status if s.is_active]
    return [Status(choice.value)]


async def _query(settings: Settings, query: TicketQuery) -> list[Ticket]:
    async with _database(settings) as database, database.reading() as uow:
        return await uow.tickets.list_tickets(query)


@tickets_app.command(
    "list", epilog=example("threaddesk tickets list", "threaddesk tickets list --status pending --limit 20")
)
def tickets_list(
    status: Annotated[StatusFilter, typer.Option(help="Which tickets.")] = StatusFilter.ACTIVE,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most this many.")] = 50,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """The queue, most urgent and oldest first."""
    settings = _settings(config, db)
    found = asyncio.run(_query(settings, TicketQuery(statuses=_statuses(status), limit=limit)))
    now = SystemClock().now()
    table = Table(title=f"Tickets ({status.value}) — {len(found)} shown")
    for column in ("#", "Priority", "Status", "Subject", "Customer", "Assignee", "Age"):
        table.add_column(column, overflow="fold")
    for t in found:
        assignee = t.assignee.display if t.assignee else "—"
        table.add_row(
            str(t.number),
            t.priority.value,
            t.status.label,
            t.subject,
            t.customer.display,
            assignee,
            t.age(now),
        )
    out.print(table)


@tickets_app.command("show", epilog=example("threaddesk tickets show 42"))
def tickets_show(
    number: Annotated[int, typer.Argument(metavar="N", help="The ticket number.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Show one ticket with its history and every message (internal notes too)."""
    settings = _settings(config, db)

    async def load() -> tuple[Ticket | None, list[Event], list[LoggedMessage]]:
        async with _database(settings) as database, database.reading() as uow:
            ticket = await uow.tickets.get_ticket(number)
            if ticket is None:
                return None, [], []
            return ticket, await uow.history.events_for(number), await uow.messages.messages_for(number)

    ticket, events, messages = asyncio.run(load())
    if ticket is None:
        raise _fail(f"there is no ticket #{number}", code=1)
    t = ticket
    out.print(f"{t.ref} · {t.subject}", style="bold")
    summary = Table.grid(padding=(0, 2))
    for name, value in _ticket_fields(t).items():
        summary.add_row(name, value or "—")
    out.print(summary)
    history = Table(title="History")
    for column in ("When (UTC)", "Who", "What"):
        history.add_column(column, overflow="fold")
    for e in events:
        history.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor.display, describe_event(e))
    out.print(history)
    log = Table(title="Messages")
    for column in ("When (UTC)", "Who", "Visibility", "Delivery", "Text"):
        log.add_column(column, overflow="fold")
    for m in messages:
        log.add_row(f"{m.at:%Y-%m-%d %H:%M:%S}", m.author.display, m.visibility, m.delivery, m.body)
    out.print(log)


def _ticket_fields(t: Ticket) -> dict[str, str | None]:
    return {
        "Status": t.status.label,
        "Priority": t.priority.value,
        "Category": t.category,
        "Tags": ", ".join(t.tags),
        "Customer": f"{t.customer.display} ({t.customer.key})",
        "Assignee": t.assignee.display if t.assignee else None,
        "Created": f"{t.created_at:%Y-%m-%d %H:%M:%S}",
        "First response": f"{t.first_response_at:%Y-%m-%d %H:%M:%S}" if t.first_response_at else None,
        # a reopened ticket keeps its last resolution time in the data, but it is not resolved now
        "Resolved": f"{t.resolved_at:%Y-%m-%d %H:%M:%S}" if t.resolved_at and not t.status.is_active else None,
        "Closed": f"{t.closed_at:%Y-%m-%d %H:%M:%S}" if t.closed_at else None,
        "Resolution": t.resolution_summary if not t.status.is_active else None,
    }


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    MD = "md"
    HTML = "html"


@app.command(
    epilog=example(
        "threaddesk export --format csv --output tickets.csv",
        "threaddesk export --format json > tickets.json",
        "threaddesk export --ticket 42 --format html --copy customer -o 42.html",
        "threaddesk export --since 7d --format md",
    )
)
def export(
    format: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="csv: one row per ticket; json: with history; md/html: transcripts."),
    ],
    ticket: Annotated[int | None, typer.Option("--ticket", help="Only this ticket.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only tickets created or changed in this period: 24h, 7d …")
    ] = None,
    copy: Annotated[
        transcript_export.Copy,
        typer.Option("--copy", help="agents: everything; customer: what the customer saw (no internal notes)."),
    ] = transcript_export.Copy.AGENTS,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Export tickets as CSV, JSON, or transcripts (md, html).

    JSON includes each ticket's history and message log; md/html are transcripts (see README "Transcripts").
    """
    settings = _settings(config, db)
    start = None
    if since is not None:
        try:
            start = SystemClock().now() - parse_duration(since)
        except ValueError as exc:
            raise _fail(f"--since: {exc}") from None
    public_only = copy is transcript_export.Copy.CUSTOMER

    async def load() -> tuple[list[dict[str, Any]], list[Any]]:
        rows: list[dict[str, Any]] = []
        async with _database(settings) as database, database.reading() as uow:
            chosen = await transcript_export.select(uow, number=ticket, since=start)
            if format in (ExportFormat.MD, ExportFormat.HTML):
                return [], await transcript_export.load(uow, chosen)
            with ProgressBars(err) as progress:
                progress.start("Exporting tickets", len(chosen))
                for t in chosen:
                    progress.advance()
                    rows.append(await _export_ticket(uow, t, format, public_only=public_only))
        return rows, []

    rows, found = asyncio.run(load())
    if ticket is not None and not rows and not found:
        raise _fail(f"there is no ticket #{ticket}", code=1)
    buffer = io.StringIO()
    if format in (ExportFormat.MD, ExportFormat.HTML):
        buffer.write(transcript_export.render(found, format.value, copy, SystemClock().now()))
    elif format is ExportFormat.JSON:
        json.dump(rows, buffer, ensure_ascii=False, indent=2)
        buffer.write("\n")
    else:
        writer = csv.DictWriter(buffer, fieldnames=list(_export_row_fields()))
        writer.writeheader()
        writer.writerows(rows)
    if output:
        output.write_text(buffer.getvalue(), encoding="utf-8")
        err.print(f"Wrote {len(rows) or len(found)} ticket(s) to {output}.")
    else:
        sys.stdout.write(buffer.getvalue())


async def _export_ticket(uow: Any, t: Ticket, format: ExportFormat, *, public_only: bool = False) -> dict[str, Any]:
    """One ticket's row; JSON adds its history and message log (`public_only`: what the customer saw)."""
    row = _export_row(t)
    if format is ExportFormat.JSON:
        row["history"] = [
            {"at": e.at.isoformat(), "actor": e.actor.key, "kind": e.kind, **e.detail}
            for e in await uow.history.events_for(t.number)
            if not public_only
        ]
        row["messages"] = [
            {
                "at": m.at.isoformat(),
                "author": m.author.key,
                "author_name": m.author.display,
                "role": m.author_role,
                "visibility": m.visibility,
                "delivery": m.delivery,
                "body": m.body,
            }
            for m in await uow.messages.messages_for(t.number, public_only=public_only)
        ]
    return row


def _export_row_fields() -> tuple[str, ...]:
    return (
        "number", "subject", "status", "priority", "category", "tags", "customer", "customer_name",
        "assignee", "created_at", "updated_at", "first_response_at", "resolved_at", "closed_at",
        "resolution_summary", "description",
    )  # fmt: skip


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _export_row(t: Ticket) -> dict[str, Any]:
    return {
        "number": t.number,
        "subject": t.subject,
        "status": t.status.value,
        "priority": t.priority.value,
        "category": t.category,
        "tags": " ".join(t.tags),
        "customer": t.customer.key,
        "customer_name": t.customer.display,
        "assignee": t.assignee.key if t.assignee else None,
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
        "first_response_at": _iso(t.first_response_at),
        "resolved_at": _iso(t.resolved_at),
        "closed_at": _iso(t.closed_at),
        "resolution_summary": t.resolution_summary,
        "description": t.description,
    }


class ReportFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


@app.command(epilog=example("threaddesk report --since 7d", "threaddesk report --since 30d --format json"))
def report(
    since: Annotated[str, typer.Option("--since", metavar="DURATION", help="How far back: 24h, 7d, 30d …")] = "7d",
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="table, csv or json.")] = ReportFormat.TABLE,
    until: Annotated[
        str | None, typer.Option("--until", help="End of the period, ISO 8601 (default: now).", hidden=True)
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's tickets ([[teams]]).")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Team-lead metrics over a period.

    Totals, first response and resolution times, reopen rate, CSAT, and per agent.
    """
    settings = _settings(config, db)
    try:
        span = parse_duration(since)
    except ValueError as exc:
        raise _fail(f"--since: {exc}") from None
    try:
        end = datetime.fromisoformat(until) if until else SystemClock().now()
    except ValueError:
        raise _fail(f"--until: {until!r} is not an ISO 8601 moment (e.g. 2026-11-02T09:00:00+00:00)") from None
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)

    if team is not None and team not in {t.name for t in settings.teams}:
        known = ", ".join(t.name for t in settings.teams) or "none configured"
        raise _fail(f"--team: no team {team!r} (teams: {known})")

    async def load() -> records.Report:
        async with _database(settings) as database, database.reading() as uow:
            if team is not None:
                return await uow.reports.report(end - span, end, team=team)
            return await uow.reports.report(end - span, end)

    result = asyncio.run(load())
    if format is ReportFormat.JSON:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
    elif format is ReportFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["metric", "value"])
        writer.writerows(_flatten(result.to_json()))
        sys.stdout.write(buffer.getvalue())
    else:
        _report_tables(result)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, name + ".")
        else:
            rows.append((name, "" if value is None else value))
    return rows


def _fmt(value: Any) -> str:
    return "—" if value is None else str(value)


def _percent(share: float | None) -> str:
    """A 0–1 share as chat shows it (the JSON and CSV keep the share itself)."""
    return "—" if share is None else f"{round(share * 100, 1):g}%"


def _report_tables(r: records.Report) -> None:
    data = r.to_json()
    summary = Table(title=f"ThreadDesk report {r.since:%Y-%m-%d %H:%M} → {r.until:%Y-%m-%d %H:%M} UTC")
    summary.add_column("Metric")
    summary.add_column("Value", justify="right")
    for key in ("created", "resolved", "closed", "reopened", "unassigned", "reopen_rate", "sla_breached", "deflected"):
        value = _percent(data[key]) if key == "reopen_rate" else _fmt(data[key])
        summary.add_row(key.replace("_", " "), value)
    for key in ("first_response_minutes", "resolution_minutes"):
        summary.add_row(
            f"{key.replace('_', ' ')} (median / p90)", f"{_fmt(data[key]['median'])} / {_fmt(data[key]['p90'])}"
        )
    c = data["csat"]
    summary.add_row("CSAT average (responses / requests)", f"{_fmt(c['average'])} ({c['responses']} / {c['requests']})")
    i = data["incidents"] or {}
    summary.add_row("incidents (linked tickets)", f"{_fmt(i.get('count'))} ({_fmt(i.get('linked_tickets'))})")
    summary.add_row(
        "incident time to detect / resolve (median min)",
        f"{_fmt(i.get('median_time_to_detect_minutes'))} / {_fmt(i.get('median_time_to_resolve_minutes'))}",
    )
    out.print(summary)
    queue = Table(title="Open queue")
    queue.add_column("Status")
    queue.add_column("Open", justify="right")
    for status, n in r.open_by_status.items():
        queue.add_row(status.replace("_", " "), str(n))
    out.print(queue)
    priorities = Table(title="By priority")
    for column in ("Priority", "Open", "Resolved in period"):
        priorities.add_column(column, justify="right" if column != "Priority" else "left")
    for priority, n in r.open_by_priority.items():
        priorities.add_row(priority, str(n), str(r.resolved_by_priority.get(priority, 0)))
    out.print(priorities)
    agents = Table(title="Per agent")
    for column in ("Agent", "Assigned open", "Resolved", "First response median (min)"):
        agents.add_column(column, justify="right" if column != "Agent" else "left")
    for name, a in r.per_agent.items():
        agents.add_row(name, str(a.assigned_open), str(a.resolved), _fmt(a.first_response_minutes_median))
    out.print(agents)
    if r.macros:
        used = Table(title="Macros used")
        used.add_column("Macro")
        used.add_column("Applied", justify="right")
        for name, n in r.macros.items():
            used.add_row(name, str(n))
        out.print(used)


@incidents_app.command("replay", epilog=example("threaddesk incidents replay stream.jsonl --config config.toml --json"))
def incidents_replay(
    file: Annotated[
        Path, typer.Argument(help='JSON Lines: {"id", "at", "customer", "text"} per line.', metavar="FILE")
    ],
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run a stream through intake and detection (auto-create on, a fresh in-memory store, the configured
    [incidents] thresholds) on the stream's own clock; print the incidents and the unlinked reports."""
    settings = _settings(config, None)
    try:
        reports = incident_replay.read_file(file)
    except incident_replay.StreamError as exc:
        raise _fail(f"{file}: {exc}") from None
    result = asyncio.run(incident_replay.replay(settings, reports))
    if as_json:
        out.print(json.dumps(result, ensure_ascii=False))
        return
    table = Table(title=f"{len(result['incidents'])} incident(s) from {len(reports)} report(s)")
    for column in ("Id", "Detected at", "Reports", "Title"):
        table.add_column(column, overflow="fold")
    for found in result["incidents"]:
        table.add_row(str(found["id"]), found["detected_at"], str(len(found["members"])), found["title"])
    out.print(table)
    out.print(f"{len(result['unlinked'])} report(s) linked to no incident.")


@discord_app.command(
    "invite-url",
    epilog=example(
        "threaddesk discord invite-url --config config.toml", "threaddesk discord invite-url --client-id 123"
    ),
)
def discord_invite_url(
    config: ConfigOpt = None,
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help="Application ID (developer portal); default: looked up with DISCORD_TOKEN."),
    ] = None,
) -> None:
    """Print the link that adds the bot to your server with exactly the permissions and scopes it uses."""
    settings = _settings(config, None)
    discord_config = settings.adapters["discord"]
    assert isinstance(discord_config, DiscordConfig)
    token = os.environ.get(DISCORD_TOKEN_ENV, "").strip() or None
    try:
        url = asyncio.run(discord_invite.link(discord_config, client_id=client_id, token=token))
    except AdapterStartupError as exc:
        raise _fail(str(exc)) from None
    out.print(url)
    err.print(discord_invite.grants(discord_config))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
