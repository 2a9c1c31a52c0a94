"""The queue digest: one neutral message with the metrics, a trend against the previous period, the
oldest waiting tickets as buttons, and a chart attached where the platform allows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.domain.ticket import humanize_duration
from bot.outbound import Button, Destination, DestinationKind, Message
from bot.records import Report, Spread
from bot.services import incident_metrics
from bot.services.desk_context import DeskContext
from bot.services.notify import relay


@dataclass(frozen=True)
class Digest:
    message: Message
    report: Report
    previous: Report


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    return humanize_duration(timedelta(minutes=value)).replace("just now", "<1m")


def _trend(now: float | None, before: float | None, *, unit: str = "", minutes: bool = False) -> str:
    if now is None or before is None:
        return ""
    delta = now - before
    if abs(delta) < 1e-9:
        return " (= prev)"
    arrow = "▲" if delta > 0 else "▼"
    shown = _minutes(abs(delta)) if minutes else f"{abs(delta):g}{unit}"
    return f" ({arrow}{shown})"


def _spread(name: str, now: Spread, before: Spread) -> str:
    return (
        f"{name}: median {_minutes(now.median)}{_trend(now.median, before.median, minutes=True)}"
        f" · p90 {_minutes(now.p90)}{_trend(now.p90, before.p90, minutes=True)}"
    )


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def digest_text(r: Report, p: Report, now: datetime, note: str = "", title: str = "📊 Queue digest") -> str:
    lines = [f"{title} — {_when(r.until)} (since {_when(r.since)})"]
    if note:
        lines.append(note)
    statuses = " · ".join(f"{s.replace('_', ' ')} {n}" for s, n in r.open_by_status.items())
    lines.append(f"Open: {r.open_total} — {statuses}")
    lines.append("By priority: " + " · ".join(f"{k} {v}" for k, v in r.open_by_priority.items()))
    waiting = ", ".join(
        f"#{w.number} {relay(w.subject)[:40]} ({humanize_duration(now - w.created_at)})" for w in r.oldest_waiting
    )
    lines.append(f"Unassigned: {r.unassigned}" + (f" · oldest waiting: {waiting}" if waiting else ""))
    lines.append(
        f"SLA: {r.breached_open} open ticket(s) breached · {r.at_risk} at risk · "
        f"{r.sla_breached} breach(es) this period{_trend(r.sla_breached, p.sla_breached)}"
    )
    lines.append(
        f"Created {r.created}{_trend(r.created, p.created)} vs resolved {r.resolved}{_trend(r.resolved, p.resolved)}"
    )
    lines.append(_spread("First response", r.first_response_minutes, p.first_response_minutes))
    lines.append(_spread("Resolution", r.resolution_minutes, p.resolution_minutes))
    rate = _pct(r.reopen_rate)
    shown_rate = "—" if rate is None else f"{rate:g}%"
    lines.append(f"Reopen rate: {shown_rate}{_trend(rate, _pct(p.reopen_rate), unit=' pts')} ({r.reopened} reopened)")
    c, pc = r.csat, p.csat
    answered = f"{round(100 * c.responses / c.requests)}%" if c.requests else "—"
    average = "—" if c.average is None else f"{c.average:g}/5"
    lines.append(
        f"CSAT: {average}{_trend(c.average, pc.average)} from {c.responses} of {c.requests} asked "
        f"(response rate {answered})"
    )
    lines.append(f"KB deflection: {r.deflected} ticket(s) solved by a suggestion{_trend(r.deflected, p.deflected)}")
    if r.incidents is not None and (r.incidents.count or r.incidents.resolved):
        lines.append(incident_metrics.digest_line(r.incidents))
    if r.per_agent:
        lines.append(_agents_line(r))
    if r.macros:
        used = " · ".join(f"{name} {n}" for name, n in list(r.macros.items())[:8])
        lines.append(f"Macros used: {used}")
    return "\n".join(lines)


#: Agents named on the digest's "Agents:" line; the rest are counted (`threaddesk report` lists all).
TOP_AGENTS = 5


def _agents_line(r: Report) -> str:
    """The busiest agents (most resolved, then most open), and how many more there are."""
    ranked = sorted(r.per_agent.items(), key=lambda item: (-item[1].resolved, -item[1].assigned_open, item[0]))
    shown = "; ".join(
        f"{name} {a.assigned_open} open · {a.resolved} resolved"
        f" · first response {_minutes(a.first_response_minutes_median)}"
        for name, a in ranked[:TOP_AGENTS]
    )
    rest = len(ranked) - TOP_AGENTS
    if rest <= 0:
        return f"Agents: {shown}"
    return (
        f"Agents (top {TOP_AGENTS} of {len(ranked)}): {shown}; and {rest} more (`threaddesk report` lists every agent)"
    )


def team_line(name: str, r: Report) -> str:
    unassigned = f" ({r.unassigned} unassigned)" if r.unassigned else ""
    return (
        f"Team {name}: {r.open_total} open{unassigned} · created {r.created} · resolved {r.resolved}"
        f" · first response {_minutes(r.first_response_minutes.median)}"
    )


async def build(
    ctx: DeskContext, since: datetime, until: datetime, charts_dir: Path | None, *, note: str = ""
) -> Digest:
    """Compute the digest for `[since, until)` and the previous period of the same length; draw the chart."""
    previous_since = since - (until - since)
    async with ctx.store.reading() as uow:
        report = await uow.reports.report(since, until)
        previous = await uow.reports.report(previous_since, since)
        daily = await uow.reports.per_day(until) if charts_dir is not None else None
    attachment = None
    if charts_dir is not None and daily is not None:
        # matplotlib is imported only when a chart is drawn: it is a quarter of the CLI's start-up time
        from bot.services.chart import chart_title, render_chart

        path = charts_dir / f"digest-{until:%Y%m%d-%H%M%S}.png"
        title = chart_title(since, until)
        attachment = str(await asyncio.to_thread(render_chart, daily, report.open_by_priority, path, title))
    buttons = tuple(
        Button(label=f"Show #{w.number}", command=f"/ticket show {w.number}") for w in report.oldest_waiting[:3]
    )
    text = digest_text(report, previous, ctx.clock.now(), note)
    if ctx.teams:
        async with ctx.store.reading() as uow:
            per_team = [(t.name, await uow.reports.report(since, until, team=t.name)) for t in ctx.teams.teams]
        text += "\n" + "\n".join(team_line(name, r) for name, r in per_team)
    return Digest(Message(text=text, buttons=buttons, attachment=attachment), report, previous)


async def post(ctx: DeskContext, platform: str, channel: str, message: Message) -> None:
    dest = Destination(kind=DestinationKind.CHANNEL, platform=platform, channel=channel)
    async with ctx.store.transaction() as uow:
        await uow.outbox.enqueue(dest, message, at=ctx.clock.now())
