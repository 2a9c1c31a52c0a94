"""`threaddesk kb …`: the knowledge base's articles — import, export, list, show, search, stats — and eval
(`adapters.kb_eval_command`); what each prints is made in `adapters.kb_cli`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adapters import kb_cli
from adapters.cli.app import (
    ConfigOpt,
    DbOpt,
    _database,
    _fail,
    _kb_database,
    _knowledge_base,
    _settings,
    err,
    kb_app,
    out,
)
from adapters.help import example
from adapters.kb_eval_command import KB_EVAL_EXAMPLES, kb_eval
from adapters.progress import ProgressBars
from bot.ports import SystemClock
from bot.services.knowledge import ImportOutcome
from kb.loader import ArticleError

kb_app.command("eval", epilog=KB_EVAL_EXAMPLES)(kb_eval)


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
