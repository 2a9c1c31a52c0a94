"""The digest's chart: created vs resolved per day (last 14 days) and the backlog by priority, as a PNG.

Uses matplotlib's object API with the Agg canvas (no pyplot, no display, safe in a worker thread).
Ticket counts are whole numbers, so both axes tick at integers; an empty panel says so in words
("Nothing open") instead of showing a bare axis; the title names the digest's period.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.records import Daily

_PRIORITY_COLOURS = {"urgent": "#c0392b", "high": "#e67e22", "normal": "#2980b9", "low": "#7f8c8d"}


def chart_title(since: datetime, until: datetime) -> str:
    return f"Queue digest · {since:%Y-%m-%d %H:%M} → {until:%Y-%m-%d %H:%M} UTC"


def chart_figure(daily: Daily, backlog: dict[str, int], title: str) -> Figure:
    fig = Figure(figsize=(10, 4.4), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    fig.suptitle(title, fontsize=12)
    x = list(range(len(daily.days)))
    width = 0.4
    left.bar([i - width / 2 for i in x], daily.created, width, label="created", color="#2980b9")
    left.bar([i + width / 2 for i in x], daily.resolved, width, label="resolved", color="#27ae60")
    left.set_xticks(x, [d[5:] for d in daily.days], rotation=45, fontsize=8)
    left.set_title(f"Created vs resolved per day, last {len(daily.days)} days (UTC)", fontsize=10)
    _whole_tickets(left, max((*daily.created, *daily.resolved), default=0))
    if any(daily.created) or any(daily.resolved):
        left.legend()
    else:
        _say(left, f"No tickets created or resolved in {len(daily.days)} days")
    right.set_title("Open by priority", fontsize=10)
    if sum(backlog.values()):
        names = list(backlog)
        right.bar(names, [backlog[n] for n in names], color=[_PRIORITY_COLOURS.get(n, "#95a5a6") for n in names])
        _whole_tickets(right, max(backlog.values()))
    else:
        right.set_xticks([])
        right.set_yticks([])
        _say(right, "Nothing open")
    fig.tight_layout()
    return fig


def render_chart(daily: Daily, backlog: dict[str, int], path: Path, title: str = "Queue digest") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    chart_figure(daily, backlog, title).savefig(path, format="png")
    return path


def _whole_tickets(axes: Axes, highest: int) -> None:
    """Integer ticks from 0, and some head room so a lone 1 is not a full-height bar."""
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, max(highest, 1) * 1.15)
    axes.set_ylabel("tickets", fontsize=8)


def _say(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=12, color="#555555")
