"""`threaddesk db backup|restore` and `threaddesk customer export|forget`: the operator's commands.

Registered on the CLI's apps by `register`; the CLI passes its own config loading and error printing.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from adapters.help import example
from bot import storage as backups
from bot.config import USER_KEY, Settings
from bot.ports import SystemClock
from bot.records import Erasure
from bot.services import privacy
from bot.storage import open_configured

out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

Load = Callable[[Path | None, Path | None], Settings]
Fail = Callable[..., typer.Exit]

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="THREADDESK_CONFIG", help="TOML config (see config.example.toml)."),
]
DbOpt = Annotated[
    Path | None, typer.Option("--db", envvar="THREADDESK_DB", help="SQLite file; overrides [store] path.")
]
Person = Annotated[str, typer.Argument(metavar="PLATFORM:ID", help="e.g. slack:U0123ABC, discord:1234, console:alice")]


def _counts(snapshot: backups.Snapshot) -> str:
    c = snapshot.counts
    return (
        f"schema version {snapshot.schema_version}, {c.get('tickets', 0)} ticket(s), "
        f"{c.get('ticket_messages', 0)} message(s), {c.get('kb_articles', 0)} article(s), "
        f"{snapshot.size / 1_048_576:.1f} MB"
    )


def register(db_app: typer.Typer, app: typer.Typer, load: Load, fail: Fail) -> None:
    customer_app = typer.Typer(
        help="A customer's data: export it, or erase it on request.",
        epilog=example("threaddesk customer export slack:U0123ABC -o alice.json"),
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.add_typer(customer_app, name="customer")

    @db_app.command("backup", epilog=example("threaddesk db backup /backups/threaddesk-$(date +%F).db"))
    def db_backup(
        file: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
        config: ConfigOpt = None,
        db: DbOpt = None,
    ) -> None:
        """A consistent copy of the SQLite database, taken while ThreadDesk runs (intake does not stop)."""
        settings = load(config, db)
        source = settings.resolve(settings.store.path)
        try:
            snapshot = backups.backup(source, file)
        except backups.BackupError as exc:
            raise fail(str(exc), code=1) from None
        out.print(f"Backed up {source} to {file}: integrity check ok, {_counts(snapshot)}.")

    @db_app.command("restore", epilog=example("threaddesk db restore /backups/threaddesk-2026-11-28.db"))
    def db_restore(
        file: Annotated[Path, typer.Argument(help="A backup made by `threaddesk db backup`.")],
        config: ConfigOpt = None,
        db: DbOpt = None,
    ) -> None:
        """Replace the database with a backup. Refused while ThreadDesk runs on it: stop it first."""
        settings = load(config, db)
        target = settings.resolve(settings.store.path)
        try:
            snapshot, kept = backups.restore(file, target)
        except backups.BackupError as exc:
            raise fail(str(exc), code=1) from None
        out.print(f"Restored {target} from {file}: integrity check ok, {_counts(snapshot)}.")
        if kept is not None:
            out.print(f"The database it replaced is kept as {kept} (delete it once you are sure).")
        out.print("Start ThreadDesk again; `threaddesk db migrate` brings an older backup's schema up to date.")

    def person(value: str) -> tuple[str, str]:
        if not USER_KEY.match(value):
            raise fail(f"{value!r} is not PLATFORM:ID (e.g. slack:U0123ABC, discord:1234, console:alice)")
        platform, user_id = value.split(":", 1)
        return platform, user_id

    @customer_app.command(
        "export",
        epilog=example(
            "threaddesk customer export slack:U0123ABC", "threaddesk customer export discord:1234 -o c.json"
        ),
    )
    def customer_export(
        who: Person,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
        config: ConfigOpt = None,
        db: DbOpt = None,
    ) -> None:
        """Everything stored about one person, as JSON: tickets with history and messages, ratings, what they
        wrote elsewhere, the KB wordings learned from them."""
        platform, user_id = person(who)
        settings = load(config, db)

        async def main() -> dict[str, Any]:
            async with open_configured(settings) as database:
                return await privacy.export(database, platform, user_id)

        data = asyncio.run(main())
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        if output is None:
            sys.stdout.write(text)
            return
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {len(data['tickets'])} ticket(s) of {who} to {output}.")

    @customer_app.command(
        "forget",
        epilog=example(
            "threaddesk customer forget slack:U0123ABC --dry-run", "threaddesk customer forget slack:U0123ABC"
        ),
    )
    def customer_forget(
        who: Person,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be erased.")] = False,
        config: ConfigOpt = None,
        db: DbOpt = None,
    ) -> None:
        """Erase one person's message texts, name and learned KB wordings (numbers, times and ratings stay).
        Recorded in each ticket's history; cannot be undone from the database."""
        platform, user_id = person(who)
        settings = load(config, db)
        if not dry_run and sys.stdin.isatty() and not typer.confirm(f"Erase the data of {who}? This cannot be undone"):
            raise typer.Exit(1)

        async def main() -> Erasure:
            async with open_configured(settings) as database:
                return await privacy.forget(database, SystemClock(), platform, user_id, dry_run=dry_run)

        found = asyncio.run(main())
        tickets = found.tickets + found.other_tickets
        listed = ", ".join(f"#{n}" for n in tickets) or "none"
        what = (
            f"{found.messages} message text(s), {found.names} name(s), {found.history_texts} history text(s), "
            f"{found.learned_wordings} learned KB wording(s), {found.ratings_comments} rating comment(s), "
            f"{found.posts} sent post(s); tickets: {listed}"
        )
        if dry_run:
            out.print(f"Dry run — would erase for {who}: {what}. Nothing was changed.")
        else:
            out.print(f"Erased for {who}: {what}. Recorded in each ticket's history.")
