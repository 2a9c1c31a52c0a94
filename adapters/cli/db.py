"""`threaddesk db …`: the store's maintenance — migrate and check here; backup and restore in `adapters.ops_cli`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from adapters import ops_cli
from adapters.cli.app import ConfigOpt, DbOpt, _fail, _settings, app, db_app, err, out
from adapters.help import example
from bot.desk_copy import Copied, CopyRefused, copy_desk
from bot.ports import StoreUnavailable
from bot.storage import is_url, open_configured, open_store

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

    async def main() -> tuple[str, list[str]]:
        async with open_configured(settings, migrate=False) as database:
            return database.location, await database.integrity_problems(full=full)

    try:
        path, problems = asyncio.run(main())
    except StoreUnavailable as exc:
        raise _fail(str(exc)) from None
    if problems:
        for problem in problems[:20]:
            err.print(f"{path}: {problem}")
        raise _fail(f"{path} is damaged ({len(problems)} problem(s)) — restore it from a backup", code=1)
    out.print(f"{path}: no damage found ({'integrity_check' if full else 'quick_check'}).")


@db_app.command(
    "copy",
    epilog=example(
        'threaddesk db copy --from threaddesk.db --to "$THREADDESK_DATABASE_URL"',
        'threaddesk db copy --from "$THREADDESK_DATABASE_URL" --to desk-copy.db',
    ),
)
def db_copy(
    source: Annotated[str, typer.Option("--from", help="The desk to copy: an SQLite file or a postgresql:// URL.")],
    target: Annotated[
        str, typer.Option("--to", help="Where to: an SQLite file or a postgresql:// URL holding no desk yet.")
    ],
) -> None:
    """Copy a whole desk between SQLite and PostgreSQL — tickets, history, messages, outbox, timers, the KB
    with its versions, CSAT, incidents, macros — into an empty desk, verified by counting every table."""
    if not is_url(source) and not Path(source).is_file():
        raise _fail(f"--from {source}: no such file — give the SQLite file or the postgresql:// URL of the desk")

    async def main() -> tuple[str, str, list[Copied]]:
        async with (
            open_store(_target(source), migrate=False) as origin,
            open_store(_target(target)) as destination,
        ):
            counts = await copy_desk(origin, destination)
            return origin.location, destination.location, counts

    try:
        where_from, where_to, counts = asyncio.run(main())
    except (StoreUnavailable, CopyRefused) as exc:
        raise _fail(str(exc)) from None
    out.print(f"Copied {where_from} → {where_to}:")
    width = max(len(c.table) for c in counts)
    for c in counts:
        out.print(f"  {c.table:<{width}}  {c.target:>9,}")
    out.print(f"Verified: each of the {len(counts)} tables holds as many rows as in {where_from}.")


def _target(place: str) -> Path | str:
    return place if is_url(place) else Path(place)
