"""`threaddesk export`: tickets as CSV or JSON rows, or as transcripts (md, html; `adapters.transcript_export`)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from adapters import transcript_export
from adapters.cli.app import ConfigOpt, DbOpt, _database, _fail, _settings, app, err
from adapters.help import example
from adapters.progress import ProgressBars
from bot.domain.ticket import Ticket
from bot.ports import SystemClock
from bot.sla_config import parse_duration


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
