"""`threaddesk db …`: the store's maintenance — migrate and check here; backup and restore in `adapters.ops_cli`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from adapters import ops_cli
from adapters.cli.app import ConfigOpt, DbOpt, _fail, _settings, app, db_app, err, out
from adapters.help import example
from bot.ports import StoreUnavailable
from bot.storage import open_configured

# `db backup` and `db restore` (listed before migrate and check), and the `customer` group
ops_cli.register(db_app, app, lambda config, db: _settings(config, db), _fail)


@db_app.command("migrate", epilog=example("threaddesk db migrate --db threaddesk.db"))
def db_migrate(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Create the database or bring its schema up to date."""
    settings = _settings(config, db)

    async def main() -> None:
        async with open_configured(settings, migrate=False) as database:
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
        async with open_configured(settings, migrate=False) as database:
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
