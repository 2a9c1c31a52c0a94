"""SIGTERM while the scheduler is building a digest: the build finishes and its post is flushed with the rest of
the outbox before `serve` returns (it used to be cut off, or its post left for the next start); nothing new is
fired once the drain has begun."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from adapters import lifecycle
from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.ports import Store
from bot.scheduler import Scheduler
from bot.services import digest
from tests.conftest import ALICE, dm, make_settings
from tests.fakes.clock import FakeClock
from tests.fakes.patience import until
from tests.fakes.platform import RecordingPlatform

DIGEST = "📊 Queue digest — "


async def test_sigterm_mid_digest_finishes_the_build_and_posts_it_before_exiting(
    db: Store, platform: RecordingPlatform, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        kb={"suggestions": 0},
        ops={"drain_seconds": 60},
        digests={"timezone": "UTC", "schedules": [{"cron": "* * * * *", "platform": "test"}]},
    )
    desk = build_desk(settings, db, clock=clock)
    building, release = asyncio.Event(), asyncio.Event()
    builds = 0
    real_build = digest.build

    async def slow_build(*args: Any, **kwargs: Any) -> digest.Digest:
        nonlocal builds
        builds += 1
        building.set()
        await release.wait()  # the chart takes seconds of CPU: SIGTERM arrives meanwhile
        return await real_build(*args, **kwargs)

    monkeypatch.setattr(digest, "build", slow_build)
    worker = DeliveryWorker(db, {platform.name: platform}, clock)
    scheduler = Scheduler(desk.ctx, settings.digests)
    await scheduler.start()  # the digest's job, due at the next minute mark (`run` starts it again: a no-op)
    serving = asyncio.create_task(lifecycle.serve(settings, desk, worker, scheduler, []))
    clock.advance(minutes=1)  # the digest falls due
    await desk.receive(dm(ALICE, "The export button does nothing", message_id="a1"))  # a commit wakes the scheduler
    await until(building.is_set, "the digest build to start")

    os.kill(os.getpid(), signal.SIGTERM)  # handled by the service loop, as in `threaddesk run`
    await until(lambda: desk.gate.draining, "the drain to begin")
    clock.advance(minutes=1)  # another minute mark passes while stopping: nothing new is fired for it
    release.set()
    await serving

    digests = [s for s in platform.sent if s.channel == "leads" and s.message.text.startswith(DIGEST)]
    assert len(digests) == 1, [s.message.text for s in platform.sent]
    assert builds == 1
    async with db.reading() as uow:
        assert await uow.outbox.pending_count() == 0  # flushed: nothing left for the next start
