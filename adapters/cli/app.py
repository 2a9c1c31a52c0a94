"""The command tree's root: the `threaddesk` app and its command groups, the options every command shares,
loading settings, printing an error, and opening the database (and the knowledge base) for a command.

The other modules of `adapters.cli` add their commands to these apps when imported (see `adapters.cli`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from adapters import web_cli
from adapters.console.config import ConsoleConfig
from adapters.discord import SPEC as DISCORD
from adapters.email import SPEC as EMAIL
from adapters.help import example
from adapters.progress import ProgressBars
from adapters.registry import AdapterSpec
from adapters.slack import SPEC as SLACK
from adapters.webhooks import commands as webhook_commands
from bot.bootstrap import open_knowledge_base, seed_knowledge_base
from bot.config import ConfigError, PlatformChannels, Settings, load_settings
from bot.ports import Store, StoreUnavailable, SystemClock
from bot.services.knowledge import KnowledgeLibrary
from bot.storage import open_configured

#: Articles from which the first index build shows a progress bar (100,000 take seconds).
LARGE_KB = 5_000
SPECS: tuple[AdapterSpec, ...] = (AdapterSpec("console", ConsoleConfig), SLACK, DISCORD, EMAIL)
ADAPTERS: dict[str, type[PlatformChannels]] = {spec.name: spec.config_model for spec in SPECS}

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


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Store]:
    try:
        async with open_configured(settings, check=True) as db:
            yield db
    except StoreUnavailable as exc:
        raise _fail(str(exc)) from None


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
