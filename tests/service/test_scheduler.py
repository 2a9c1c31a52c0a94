"""With a fake clock: SLA warnings and breaches fire exactly once, across restarts and downtime; stored
jobs (digests, auto-close, reminders) neither get lost nor run twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.domain.inbound import Place
from bot.domain.refs import UserRef
from bot.scheduler import COALESCE, Scheduler
from bot.services.desk import Desk
from bot.storage import open_store
from tests.conftest import ALICE, BOB, CAROL, make_settings
from tests.fakes.clock import FakeClock
from tests.fakes.patience import HANG, until
from tests.fakes.platform import RecordingPlatform

SLA = {
    "targets": {
        "urgent": {"first_response": "15m", "resolution": "4h"},
        "high": {"first_response": "1h", "resolution": "1d"},
        "normal": {"first_response": "4h", "resolution": "3d"},
        "low": {"first_response": "1d", "resolution": "7d"},
    }
}


@dataclass
class Bot:
    desk: Desk
    scheduler: Scheduler
    worker: DeliveryWorker

    async def tick(self) -> list[str]:
        done = await self.scheduler.tick()
        await self.worker.drain()
        return done


@asynccontextmanager
async def running(path: Path, clock: FakeClock, platform: RecordingPlatform, **config: Any) -> AsyncIterator[Bot]:
    """One process's life: open the database, build the desk and scheduler, stop when the block ends."""
    settings = make_settings(**{"sla": SLA, **config})
    async with open_store(path) as db:
        desk = build_desk(settings, db, clock=clock)
        scheduler = Scheduler(desk.ctx, settings.digests, charts_dir=path.parent / "charts")
        await scheduler.start()
        yield Bot(desk, scheduler, DeliveryWorker(db, {platform.name: platform}, clock))


def alerts(platform: RecordingPlatform) -> list[str]:
    return [t for t in platform.texts("leads") if "SLA" in t]


async def open_urgent(bot: Bot) -> None:
    assert (await bot.desk.run(ALICE, "/ticket new The site is down for everyone", _dm(ALICE))).ok
    await bot.worker.drain()


def counting_ticks(scheduler: Scheduler) -> list[int]:
    """Count the ticks `scheduler.run` makes: the list's one item, as each tick finishes."""
    ticks = [0]
    tick = scheduler.tick

    async def counted() -> list[str]:
        done = await tick()
        ticks[0] += 1
        return done

    scheduler.tick = counted  # type: ignore[method-assign]
    return ticks


def _dm(user: UserRef) -> Place:
    return Place(platform="test", channel=f"dm-{user.id}")


async def test_warning_then_breach_fire_exactly_once(
    tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> None:
    async with running(tmp_path / "d.db", clock, platform) as bot:
        await open_urgent(bot)
        clock.advance(minutes=11, seconds=59)
        assert await bot.tick() == []
        clock.advance(seconds=1)  # 12 minutes = 80 % of the 15-minute first-response target
        assert await bot.tick() == ["#1 first_response warning"]
        assert await bot.tick() == []
        [warning] = alerts(platform)
        assert warning.startswith("⏳ SLA warning: #1 first response due in 3m (2026-11-02 09:15 UTC)")
        assert "@bob, @erin" in warning.lower()  # unassigned: the on-duty agents are mentioned
        card = platform.in_channel("queue")[0]
        assert any("SLA warning" in t for t in platform.texts("queue", card.id))
        clock.advance(minutes=3)
        assert await bot.tick() == ["#1 first_response breach"]
        clock.advance(minutes=30)
        assert await bot.tick() == []
        assert [a.split(":")[0] for a in alerts(platform)] == ["⏳ SLA warning", "🚨 SLA breached"]
        assert "late" not in alerts(platform)[1]
        fields = {f.name: f.value for f in card.current.fields}
        assert fields["SLA"].startswith("first response overdue by")


async def test_restart_between_warning_and_breach_neither_loses_nor_repeats(
    tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> None:
    path = tmp_path / "d.db"
    async with running(path, clock, platform) as bot:
        await open_urgent(bot)
        assert (await bot.desk.run(BOB, "/ticket claim 1")).ok
        clock.advance(minutes=12)
        assert await bot.tick() == ["#1 first_response warning"]
    clock.advance(minutes=1)
    async with running(path, clock, platform) as bot:  # a new process on the same database
        assert await bot.tick() == []
        clock.advance(minutes=2)
        assert await bot.tick() == ["#1 first_response breach"]
    async with running(path, clock, platform) as bot:
        clock.advance(hours=1)
        assert await bot.tick() == []
    assert len(alerts(platform)) == 2
    assert "— @Bob" in alerts(platform)[1]  # assigned: only the assignee is mentioned


async def test_a_breach_while_down_fires_once_late_and_says_so(
    tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> None:
    path = tmp_path / "d.db"
    async with running(path, clock, platform) as bot:
        await open_urgent(bot)
    clock.advance(minutes=40)  # down through the warning and the breach
    async with running(path, clock, platform) as bot:
        assert await bot.tick() == ["#1 first_response breach (late)"]
        assert await bot.tick() == []
    async with running(path, clock, platform) as bot:
        assert await bot.tick() == []
    [breach] = alerts(platform)  # no stale warning after the breach
    assert "🚨 SLA breached: #1 first response target missed at 2026-11-02 09:15 UTC" in breach
    assert "late: this alert was due at 2026-11-02 09:15 UTC, while ThreadDesk was not running" in breach


async def test_pending_pauses_resolution_alerts(tmp_path: Path, clock: FakeClock, platform: RecordingPlatform) -> None:
    async with running(tmp_path / "d.db", clock, platform, automation={"pending_reminder_hours": 0}) as bot:
        await open_urgent(bot)
        assert (await bot.desk.run(BOB, "/ticket reply 1 Looking now, can you send a screenshot?")).ok
        clock.advance(hours=1)
        assert (await bot.desk.run(BOB, "/ticket status 1 pending")).ok
        clock.advance(hours=10)  # far past the 4h resolution target, but the customer has the ball
        assert await bot.tick() == []
        shown = await bot.desk.run(BOB, "/ticket show 1")
        assert "resolution clock paused" in shown.text
        assert (await bot.desk.run(BOB, "/ticket status 1 open")).ok
        clock.advance(hours=2, minutes=12)  # 1h used before the pause; 80 % of 4h = 3h12m
        assert await bot.tick() == ["#1 resolution warning"]
        clock.advance(minutes=48)
        assert await bot.tick() == ["#1 resolution breach"]


async def test_digest_due_while_down_runs_once_late(
    tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> None:
    path = tmp_path / "d.db"
    schedule = {"schedules": [{"cron": "0 9 * * 1-5", "platform": "test"}]}  # weekdays 09:00 UTC
    async with running(path, clock, platform, digests=schedule) as bot:  # Monday 09:00: next is Tuesday
        clock.advance(hours=23, minutes=59)
        assert await bot.tick() == []
        clock.advance(minutes=1)
        assert await bot.tick() == ["digest to test:leads"]
        assert await bot.tick() == []
    clock.advance(days=3)  # down Wednesday, Thursday and Friday 09:00
    async with running(path, clock, platform, digests=schedule) as bot:
        assert await bot.tick() == ["digest to test:leads (late)"]
        assert await bot.tick() == []
        clock.advance(days=1)  # Saturday: no digest at weekends
        assert await bot.tick() == []
    digests = [p for p in platform.in_channel("leads") if p.text.startswith("📊")]
    assert len(digests) == 2
    assert "late: this digest was due at 2026-11-04 09:00 UTC" in digests[1].text
    assert digests[1].message.attachment and Path(digests[1].message.attachment).is_file()


async def test_auto_close_and_pending_reminders(tmp_path: Path, clock: FakeClock, platform: RecordingPlatform) -> None:
    async with running(tmp_path / "d.db", clock, platform, sla={**SLA, "enabled": False}) as bot:
        await open_urgent(bot)
        assert (await bot.desk.run(CAROL, "/ticket new Where is my invoice?", _dm(CAROL))).ok
        assert (await bot.desk.run(BOB, "/ticket status 2 pending")).ok
        clock.advance(hours=48)
        assert await bot.tick() == ["#2 reminded"]
        clock.advance(hours=48)
        assert await bot.tick() == ["#2 reminded"]
        clock.advance(hours=96)
        assert await bot.tick() == []  # at most two reminders per wait
        assert (await bot.desk.run(BOB, "/ticket resolve 1 Back up after the database failover.")).ok
        clock.advance(days=6, hours=23)
        assert await bot.tick() == []
        clock.advance(hours=1)
        assert await bot.tick() == ["#1 auto-closed"]
        assert (await bot.desk.ticket(1)).status.value == "closed"  # type: ignore[union-attr]
    carol = [p.text for p in platform.sent if p.channel == "dm-carol"]
    assert sum("still waiting for your reply" in t for t in carol) == 2
    alice = [p.text for p in platform.sent if p.channel == "dm-alice"]
    assert any("#1 is now closed: it was resolved 7 day(s) ago with no reply" in t for t in alice)
    assert alice[-1].startswith("How did we do on #1?")  # auto-closed tickets are surveyed too


async def test_the_run_loop_fires_on_its_own_and_stops_cleanly(
    tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> None:
    async with running(tmp_path / "d.db", clock, platform) as bot:
        await open_urgent(bot)
        bot.scheduler.poll = 0.02
        seen: list[str] = []
        fired = asyncio.Event()

        async def after_tick(done: list[str]) -> None:
            seen.extend(done)
            await bot.worker.drain()
            fired.set()

        ticks = counting_ticks(bot.scheduler)
        task = asyncio.create_task(bot.scheduler.run(after_tick=after_tick))
        await until(lambda: ticks[0] >= 2, "the loop to tick twice")  # on its own: at start, then after one poll
        assert seen == []  # nothing was due yet
        clock.advance(minutes=16)
        await asyncio.wait_for(fired.wait(), HANG)  # the next poll sees the breach: nothing wakes it sooner
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert seen == ["#1 first_response breach"]
    assert len(alerts(platform)) == 1


async def test_a_burst_of_commits_costs_one_tick_per_gap_and_stop_ends_the_wait(
    tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> None:
    async with running(tmp_path / "d.db", clock, platform) as bot:
        ticks = counting_ticks(bot.scheduler)
        task = asyncio.create_task(bot.scheduler.run())
        await until(lambda: ticks[0] >= 1, "the first tick")
        loop = asyncio.get_running_loop()
        began, before = loop.time(), ticks[0]
        for n in range(30):  # each opens a ticket: several commits, each of which wakes the scheduler
            who = UserRef(platform="test", id=f"u{n}", name=f"Customer {n}")
            assert (await bot.desk.run(who, f"/ticket new Question {n}", _dm(who))).ok
        await until(lambda: ticks[0] > before, "a tick after the burst")
        elapsed = loop.time() - began
        assert ticks[0] - before <= elapsed / COALESCE + 2, f"{ticks[0] - before} ticks in {elapsed:.2f}s"
        bot.scheduler.stop()  # in the gap after that tick: the wait ends and the loop returns
        await asyncio.wait_for(task, HANG)


async def test_sla_switched_off_drops_armed_alerts(
    tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> None:
    path = tmp_path / "d.db"
    async with running(path, clock, platform) as bot:
        await open_urgent(bot)
    clock.advance(hours=1)
    async with running(path, clock, platform, sla={**SLA, "enabled": False}) as bot:
        assert await bot.tick() == []
    assert alerts(platform) == []


async def test_business_hours_alerts_wait_for_opening_time(
    tmp_path: Path, clock: FakeClock, platform: RecordingPlatform
) -> None:
    sla = {
        **SLA,
        "business_hours": True,
        "calendar": {"timezone": "Europe/Berlin", "holidays": ["2026-11-09"]},  # Monday off
    }
    clock.current = datetime(2026, 11, 6, 15, 0, tzinfo=UTC)  # Friday 16:00 in Berlin
    async with running(tmp_path / "d.db", clock, platform, sla=sla) as bot:
        assert (await bot.desk.run(CAROL, "/ticket new Where is my invoice?", _dm(CAROL))).ok  # normal: 4h
        await bot.worker.drain()
        card = platform.in_channel("queue")[0]
        # 1h on Friday, the weekend and the holiday Monday shut, 3h on Tuesday: due Tuesday 12:00 Berlin
        assert {f.name: f.value for f in card.current.fields}["SLA"].startswith("first response due in 3d 20h")
        clock.current = datetime(2026, 11, 10, 10, 11, tzinfo=UTC)  # Tuesday 11:11 Berlin: 79 % used
        assert await bot.tick() == []
        clock.current = datetime(2026, 11, 10, 10, 12, tzinfo=UTC)  # 80 % of 4 working hours
        assert await bot.tick() == ["#1 first_response warning"]
        clock.current = datetime(2026, 11, 10, 11, 0, tzinfo=UTC)
        assert await bot.tick() == ["#1 first_response breach"]
    assert "target missed at 2026-11-10 11:00 UTC" in alerts(platform)[-1]
