"""`threaddesk web sessions | revoke`: who is signed in to the dashboard, and signing people out from the
terminal (an admin's tool: a lost laptop, someone leaving the team)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters.help import example
from bot.config import ConfigError, Settings, load_settings
from bot.domain.refs import UserRef
from bot.ports import SchemaTooNew, SystemClock
from bot.services import web_auth
from bot.storage import open_configured

app = typer.Typer(
    help="The web dashboard's sessions.",
    epilog=example("threaddesk web sessions", "threaddesk web revoke --all"),
    no_args_is_help=True,
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="THREADDESK_CONFIG", help="TOML config (see config.example.toml)."),
]
DbOpt = Annotated[
    Path | None, typer.Option("--db", envvar="THREADDESK_DB", help="SQLite file; overrides [store] path.")
]


def _settings(config: Path | None, db: Path | None) -> Settings:
    from adapters.cli import ADAPTERS as known  # the composition root knows every adapter's table

    try:
        return load_settings(config, known, db_override=db)
    except ConfigError as exc:
        err.print(f"error: {exc}", style="red")
        raise typer.Exit(2) from None


def _user(key: str) -> UserRef:
    platform, _, user_id = key.partition(":")
    if not platform or not user_id:
        err.print(f"error: --user {key!r} is not 'platform:user-id' (e.g. 'slack:U0123')", style="red")
        raise typer.Exit(2)
    return UserRef(platform=platform, id=user_id)


@app.command("sessions", epilog=example("threaddesk web sessions --db threaddesk.db"))
def sessions(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Live dashboard sessions: who, since when, until when, which browser."""
    settings = _settings(config, db)

    async def main() -> list[web_auth.SessionRow]:
        async with open_configured(settings) as database:
            return await web_auth.live_sessions(database, SystemClock())

    try:
        rows = asyncio.run(main())
    except SchemaTooNew as exc:
        err.print(f"error: {exc}", style="red")
        raise typer.Exit(2) from None
    table = Table(title=f"Dashboard sessions — {len(rows)} live")
    for column in ("Who", "Signed in (UTC)", "Ends (UTC)", "Browser"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            f"{r.user.display} ({r.user.key})", f"{r.created_at:%Y-%m-%d %H:%M}", f"{r.expires_at:%Y-%m-%d %H:%M}",
            r.user_agent[:60],
        )  # fmt: skip
    out.print(table)


@app.command("revoke", epilog=example("threaddesk web revoke --user slack:U0123ABC", "threaddesk web revoke --all"))
def revoke(
    user: Annotated[str | None, typer.Option("--user", help="Sign out this person: platform:user-id.")] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Sign out everyone.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Sign people out of the dashboard at once (their next click asks for a new /dashboard link)."""
    if (user is None) == (not everyone):
        err.print("error: say whom: --user platform:user-id, or --all", style="red")
        raise typer.Exit(2)
    who = _user(user) if user else None
    settings = _settings(config, db)

    async def main() -> int:
        async with open_configured(settings) as database:
            return await web_auth.revoke(database, SystemClock(), user=who, everyone=everyone)

    count = asyncio.run(main())
    out.print(f"Signed out {count} session(s){f' of {user}' if user else ''}.")
