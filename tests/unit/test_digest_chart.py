"""The digest chart and the "Agents:" line read well: whole-ticket axes, words for an empty queue, the period
in the title, and a 25-agent team as its busiest five plus a count."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.records import AgentStats, Csat, Daily, Report, Spread
from bot.services.chart import chart_figure, chart_title, render_chart
from bot.services.digest import digest_text

SINCE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
UNTIL = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
DAYS = tuple(f"2026-11-{d:02d}" for d in range(1, 15))


def test_axes_tick_whole_tickets_and_the_title_names_the_period() -> None:
    daily = Daily(DAYS, (0,) * 12 + (1, 3), (0,) * 13 + (2,))
    fig = chart_figure(daily, {"urgent": 1, "high": 0, "normal": 2, "low": 0}, chart_title(SINCE, UNTIL))
    assert fig.get_suptitle() == "Queue digest · 2026-11-02 09:00 → 2026-11-09 09:00 UTC"
    for axes in fig.axes:
        ticks = [t for t in axes.get_yticks() if axes.get_ylim()[0] <= t <= axes.get_ylim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)


def test_an_empty_queue_says_nothing_open(tmp_path: Path) -> None:
    daily = Daily(DAYS, (0,) * 14, (0,) * 14)
    fig = chart_figure(daily, {"urgent": 0, "high": 0, "normal": 0, "low": 0}, "Queue digest")
    left, right = fig.axes
    assert [t.get_text() for t in right.texts] == ["Nothing open"]
    assert [t.get_text() for t in left.texts] == ["No tickets created or resolved in 14 days"]
    png = render_chart(daily, {"urgent": 0}, tmp_path / "c.png", "Queue digest")
    assert png.read_bytes()[:4] == b"\x89PNG"


def report(agents: dict[str, AgentStats]) -> Report:
    return Report(
        since=SINCE,
        until=UNTIL,
        created=0,
        resolved=0,
        closed=0,
        reopened=0,
        open_by_status={"new": 0},
        open_by_priority={"normal": 0},
        unassigned=0,
        first_response_minutes=Spread(None, None),
        resolution_minutes=Spread(None, None),
        reopen_rate=None,
        sla_breached=0,
        csat=Csat(None, 0, 0),
        deflected=0,
        per_agent=agents,
    )


def test_a_big_team_shows_its_busiest_agents_and_a_count() -> None:
    team = {f"Agent {n:02d}": AgentStats(assigned_open=n % 4, resolved=n, first_response_minutes_median=5.0)
            for n in range(25)}  # fmt: skip
    r = report(team)
    line = digest_text(r, replace(r, per_agent={}), UNTIL).splitlines()[-1]
    assert line.startswith("Agents (top 5 of 25): Agent 24 0 open · 24 resolved · first response 5m; Agent 23 ")
    assert line.count(" resolved") == 5
    assert line.endswith("; and 20 more (`threaddesk report` lists every agent)")
