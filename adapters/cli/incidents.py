"""`threaddesk incidents replay`: a stream of reports through intake and detection (`adapters.incident_replay`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adapters import incident_replay
from adapters.cli.app import ConfigOpt, _fail, _settings, incidents_app, out
from adapters.help import example


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
