"""The digest's chart: created vs resolved per day (last 14 days) and the backlog by priority, as a PNG.

Uses matplotlib's object API with the Agg canvas (no pyplot, no display, safe in a worker thread).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.services.metrics import Daily

_PRIORITY_COLOURS = {"urgent": "#c0392b", "high": "#e67e22", "normal": "#2980b9", "low": "#7f8c8d"}


def render_chart(daily: Daily, backlog: dict[str, int], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    x = list(range(len(daily.days)))
    width = 0.4
    left.bar([i - width / 2 for i in x], daily.created, width, label="created", color="#2980b9")
    left.bar([i + width / 2 for i in x], daily.resolved, width, label="resolved", color="#27ae60")
    left.set_xticks(x, [d[5:] for d in daily.days], rotation=45, fontsize=8)
    left.set_title("Created vs resolved per day (UTC)")
    left.legend()
    names = list(backlog)
    right.bar(names, [backlog[n] for n in names], color=[_PRIORITY_COLOURS.get(n, "#95a5a6") for n in names])
    right.set_title("Open by priority")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
