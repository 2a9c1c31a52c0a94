"""`threaddesk report`: team-lead metrics over a period, as tables, CSV or JSON."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from adapters.cli.app import ConfigOpt, DbOpt, _database, _fail, _settings, app, out
from adapters.help import example
from bot import records
from bot.ports import SystemClock
from bot.sla_config import parse_duration


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
