"""The digest and `/ticket stats` over a known history (tests/service/seeded.py), numbers computed by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.records import Spread, percentile
from bot.services import digest
from bot.services.desk import Desk
from tests.conftest import BOB, DANA
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.service.seeded import T0, seed


async def test_report_numbers_on_the_seeded_history(desk: Desk, clock: FakeClock, db: Store) -> None:
    await seed(desk, clock)
    async with db.reading() as uow:
        r = await uow.reports.report(T0 - timedelta(hours=1), T0 + timedelta(days=1))
    assert (r.created, r.resolved, r.closed, r.reopened) == (3, 2, 1, 1)
    assert r.open_by_status == {"new": 1, "open": 1, "pending": 0, "on_hold": 0}
    assert r.open_by_priority == {"urgent": 1, "high": 0, "normal": 1, "low": 0}
    assert r.unassigned == 1  # #3
    assert r.first_response_minutes == Spread(median=25.0, p90=40.0)  # 40 and 10 minutes
    assert r.resolution_minutes == Spread(median=145.0, p90=170.0)  # 120 and 170 minutes
    assert r.reopen_rate == 0.5  # 1 reopen / 2 resolutions
    assert r.sla_breached == 2 and r.breached_open == 2 and r.at_risk == 0
    assert (r.csat.average, r.csat.responses, r.csat.requests) == (4.0, 1, 1)
    assert r.deflected == 1
    assert {n: (a.assigned_open, a.resolved, a.first_response_minutes_median) for n, a in r.per_agent.items()} == {
        "Bob": (0, 0, 40.0),  # #1 was self-served by Alice, not resolved by Bob
        "Erin": (1, 1, 10.0),
    }
    assert [w.number for w in r.oldest_waiting] == [3]


async def test_the_digest_shows_exactly_those_numbers_with_trends(
    desk: Desk, clock: FakeClock, db: Store, tmp_path: Path
) -> None:
    await seed(desk, clock)
    built = await digest.build(desk.ctx, T0 - timedelta(hours=1), T0 + timedelta(days=1), tmp_path / "charts")
    lines = built.message.text.splitlines()
    assert lines[0] == "📊 Queue digest — 2026-11-03 09:00 UTC (since 2026-11-02 08:00 UTC)"
    assert lines[1:] == [
        "Open: 2 — new 1 · open 1 · pending 0 · on hold 0",
        "By priority: urgent 1 · high 0 · normal 1 · low 0",
        "Unassigned: 1 · oldest waiting: #3 Question about my last invoice (23h 40m)",
        "SLA: 2 open ticket(s) breached · 0 at risk · 2 breach(es) this period (▲2)",
        "Created 3 (▲3) vs resolved 2 (▲2)",
        "First response: median 25m · p90 40m",
        "Resolution: median 2h 25m · p90 2h 50m",
        "Reopen rate: 50% (1 reopened)",
        "CSAT: 4/5 from 1 of 1 asked (response rate 100%)",
        "KB deflection: 1 ticket(s) solved by a suggestion (▲1)",
        "Agents: Erin 1 open · 1 resolved · first response 10m; Bob 0 open · 0 resolved · first response 40m",
    ]
    assert [b.command for b in built.message.buttons] == ["/ticket show 3"]
    chart = Path(built.message.attachment or "")
    assert chart.is_file() and chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the next day, against this one: trends point down where numbers fell
    clock.advance(days=1)
    later = await digest.build(desk.ctx, T0 + timedelta(days=1), T0 + timedelta(days=2), None)
    assert "Created 0 (▼3) vs resolved 0 (▼2)" in later.message.text
    assert later.message.attachment is None


async def test_digest_now_posts_to_the_leads_channel_and_is_for_leads_only(
    desk: Desk, clock: FakeClock, worker: DeliveryWorker, platform: RecordingPlatform, tmp_path: Path
) -> None:
    await seed(desk, clock)
    desk.ctx.charts_dir = tmp_path / "charts"
    refused = await desk.run(BOB, "/digest now")
    assert not refused.ok
    assert refused.text == "Only team leads can use `/digest now`. You are signed in as an agent."
    stats_refused = await desk.run(BOB, "/ticket stats")
    assert not stats_refused.ok
    reply = await desk.run(DANA, "/digest now")
    assert reply.ok and reply.text == "Digest posted in #leads."
    await worker.drain()
    [posted] = [p for p in platform.in_channel("leads") if p.text.startswith("📊")]
    assert "(asked for by Dana)" in posted.text and "Created 3" in posted.text
    assert posted.message.attachment and Path(posted.message.attachment).is_file()
    stats = await desk.run(DANA, "/ticket stats 30d")
    assert stats.ok and stats.text.startswith("📊 Queue stats — 2026-11-03 09:00 UTC (since 2026-10-04 09:00 UTC)")
    assert "Reopen rate: 50%" in stats.text
    bad = await desk.run(DANA, "/ticket stats lately")
    assert not bad.ok and "is not a period" in bad.text


def test_p90_is_the_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([5], 0.9) == 5
    assert Spread.of([]) == Spread(None, None)
