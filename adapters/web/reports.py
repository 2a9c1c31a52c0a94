"""Reports for team leads: the metrics module's numbers for a period, with charts and a CSV download."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from aiohttp import web

from adapters.web import charts
from adapters.web.common import desk_of, render
from adapters.web.session import requires
from bot.domain.roles import Role
from bot.services import dashboard

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}


def _period(request: web.Request) -> str:
    chosen = request.query.get("period", "7d")
    return chosen if chosen in PERIODS else "7d"


@requires(Role.LEAD)
async def page(request: web.Request) -> web.StreamResponse:
    period = _period(request)
    data = await dashboard.report(desk_of(request).ctx, PERIODS[period])
    r = data.report
    days = data.daily.days
    shown = [d[5:] for d in days]  # MM-DD
    agents = sorted(r.per_agent.items())
    figures = [
        charts.grouped(
            "Created vs resolved per day",
            shown,
            {"created": data.daily.created, "resolved": data.daily.resolved},
            every=max(1, len(days) // 10),
        ),
        charts.grouped(
            "Open backlog by priority", list(r.open_by_priority), {"open": list(r.open_by_priority.values())}
        ),
        charts.grouped(
            "First response and resolution (minutes)",
            ["first response", "resolution"],
            {
                "median": [r.first_response_minutes.median or 0, r.resolution_minutes.median or 0],
                "p90": [r.first_response_minutes.p90 or 0, r.resolution_minutes.p90 or 0],
            },
        ),
        charts.grouped(
            "Per agent",
            [name for name, _ in agents],
            {"open now": [a.assigned_open for _, a in agents], "resolved": [a.resolved for _, a in agents]},
        ),
    ]
    return render(
        request, "reports.html", r=r, previous=data.previous, period=period, periods=list(PERIODS), figures=figures
    )


@requires(Role.LEAD)
async def csv_download(request: web.Request) -> web.StreamResponse:
    period = _period(request)
    data = await dashboard.report(desk_of(request).ctx, PERIODS[period])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["metric", "value"])
    writer.writerows(dashboard.flatten(data.report.to_json()))
    writer.writerows(
        [(f"per_day.{day}.created", c) for day, c in zip(data.daily.days, data.daily.created, strict=True)]
        + [(f"per_day.{day}.resolved", c) for day, c in zip(data.daily.days, data.daily.resolved, strict=True)]
    )
    return web.Response(
        text=buffer.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="threaddesk-report-{period}.csv"'},
    )


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(prefix + "/reports", page)
    app.router.add_get(prefix + "/reports.csv", csv_download)
