"""`threaddesk macros import | export`: macros as Markdown files with front matter."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from adapters.cli.app import ConfigOpt, DbOpt, _database, _fail, _kb_database, _settings, err, macros_app, out
from adapters.help import example
from bot.ports import SystemClock
from bot.services import macro_files


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
