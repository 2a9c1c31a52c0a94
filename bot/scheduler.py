"""The scheduler: every timer lives in the database and is driven by the injected Clock.

One `tick()` fires the per-ticket timers that are due (SLA alerts, auto-close, reminders) and the
scheduled jobs (digests, cron expressions per target channel in the `[digests]` timezone). A job's next
moment is stored; after running it moves to the next cron moment *after now*, so a job missed while the
process was down runs once, late (and says so), never once per missed moment. `run()` ticks forever,
sleeping until the next stored moment (at most `poll` seconds, and woken by commits: at most once per
`COALESCE`), until `stop()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter

from bot import telemetry
from bot.outbound import Destination, DestinationKind
from bot.records import DIGEST_PREFIX, Job
from bot.services import digest, privacy, routing, sla_alerts
from bot.services.desk_context import DeskContext
from bot.sla_config import DigestsConfig
from bot.waiting import until_set

log = logging.getLogger(__name__)
DIGEST = "digest"
RETENTION = "retention"
RETENTION_EVERY = timedelta(hours=1)
#: How soon a tick looks again at a due digest another process is building: its post (a commit) wakes the
#: scheduler sooner; this bounds how late the digest is when that process dies while building it.
HELD_RETRY = 1.0
#: The shortest gap between two ticks. Every commit of the desk (each of its processes' own, and every post
#: another process queues) wakes the scheduler, and each tick is a query or more: in a burst of intake that is
#: hundreds of ticks a second, a tenth of a busy process's CPU and its database's. What a tick does (an SLA
#: alert, a hand-out, a digest) is not urgent to a fraction of a second, so a burst of commits costs one tick
#: per gap.
COALESCE = 0.2


def next_cron(expression: str, after: datetime, zone: ZoneInfo) -> datetime:
    """The first moment of `expression` (in `zone`) strictly after `after`."""
    moment: datetime = croniter(expression, after.astimezone(zone)).get_next(datetime)
    return moment


def digest_job_name(platform: str, channel: str, cron: str) -> str:
    return f"{DIGEST_PREFIX}{platform}:{channel}:{cron}"


class Scheduler:
    def __init__(
        self,
        ctx: DeskContext,
        digests: DigestsConfig | None = None,
        *,
        charts_dir: Path | None = None,
        poll: float = 60.0,
        late_after: timedelta = timedelta(minutes=5),
        message_days: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.digests = digests or DigestsConfig()
        self.zone = ZoneInfo(self.digests.timezone)
        self.charts_dir = charts_dir
        self.poll = poll
        self.late_after = ctx.sla.late_after if ctx.sla else late_after
        self.message_days = message_days  # [retention]: purge texts of tickets closed this long ago
        self._wake = asyncio.Event()
        self._next_due: tuple[datetime | None] | None = None  # the next moment, when the last tick read it
        self._held_elsewhere = False  # the last tick left a due digest to the process building it
        self._stopping = False
        self._stopped = asyncio.Event()
        ctx.store.after_commit(self._wake.set)

    def stop(self) -> None:
        """Make `run` return once the tick in progress, if any, has finished. On shutdown nothing new is fired,
        and what the last tick enqueued (a digest built meanwhile) is flushed with the rest of the outbox."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    async def start(self) -> None:
        """Create the configured digest jobs (existing ones keep their stored moment); drop removed ones."""
        now = self.ctx.clock.now()
        names: set[str] = set()
        async with self.ctx.store.transaction() as uow:
            for schedule in self.digests.schedules:
                channel = schedule.channel or self.ctx.channels(schedule.platform).leads_channel
                if channel is None:
                    continue
                name = digest_job_name(schedule.platform, channel, schedule.cron)
                names.add(name)
                spec = {"cron": schedule.cron, "platform": schedule.platform, "channel": channel}
                await uow.timers.ensure_job(name, DIGEST, spec, next_cron(schedule.cron, now, self.zone))
            await uow.timers.drop_jobs_except(DIGEST, names)
            if self.message_days:
                await uow.timers.ensure_job(RETENTION, RETENTION, {"days": self.message_days}, now)
            await uow.timers.drop_jobs_except(RETENTION, {RETENTION} if self.message_days else set())

    async def tick(self) -> list[str]:
        """Fire whatever is due now. Returns one line per thing done."""
        self._next_due = None
        self._held_elsewhere = False
        async with self.ctx.store.reading() as uow:
            due = await uow.timers.next_due()
        now = self.ctx.clock.now()
        lag = (now - due).total_seconds() if due is not None else 0.0
        telemetry.SCHEDULER_LAG.set(max(0.0, lag))
        telemetry.SCHEDULER_TICKS.inc()
        if due is None or due > now:
            # no timer and no job is due (the usual wake-up: a commit): only waiting tickets may be handed out,
            # and the next moment stays the one just read (a commit that moves it wakes the scheduler again)
            self._next_due = (due,)
            return [d for d in await routing.hand_out_waiting(self.ctx) if d]
        done = await sla_alerts.fire_due(self.ctx)
        done += await routing.hand_out_waiting(self.ctx)  # a team's hours opened, someone's away time ended
        now = self.ctx.clock.now()
        async with self.ctx.store.reading() as uow:
            jobs = await uow.timers.due_jobs(now)
        for job in jobs:
            try:
                if job.kind == DIGEST:
                    done.append(await self._digest(job))
                elif job.kind == RETENTION and self.message_days:
                    done.append(await self._retention(job, self.message_days))
            except Exception:
                log.exception("job %s failed; it stays due and is tried again", job.name)
        return [d for d in done if d]

    async def _retention(self, job: Job, days: int) -> str:
        purged = await privacy.purge_expired(self.ctx.store, self.ctx.clock, days)
        now = self.ctx.clock.now()
        async with self.ctx.store.transaction() as uow:
            await uow.timers.job_done(job, now, now + RETENTION_EVERY)
        return f"retention: message texts of {len(purged)} closed ticket(s) erased" if purged else ""

    async def _digest(self, job: Job) -> str:
        """Build and post a due digest, unless another process of the desk is building it now or has posted
        it since the job was read: every process's scheduler finds it due at the same moment, and the build
        (the chart with matplotlib, seconds of CPU) would otherwise run in each for one post."""
        async with self.ctx.store.exclusive(job.name) as held:
            if not held:
                self._held_elsewhere = True
                return ""
            async with self.ctx.store.reading() as uow:
                if job not in await uow.timers.due_jobs(self.ctx.clock.now()):
                    return ""  # posted by the process that held it before this one
            return await self._build_digest(job)

    async def _build_digest(self, job: Job) -> str:
        now = self.ctx.clock.now()
        spec = job.spec
        late = now - job.due_at > self.late_after
        note = (
            f"(late: this digest was due at {job.due_at:%Y-%m-%d %H:%M} UTC, while ThreadDesk was not running)"
            if late
            else ""
        )
        since = job.last_run_at or (now - timedelta(days=1))
        built = await digest.build(self.ctx, since, now, self.charts_dir, note=note)
        following = next_cron(str(spec["cron"]), now, self.zone)
        async with self.ctx.store.transaction() as uow:
            if not await uow.timers.job_done(job, now, following):
                return ""  # another runner took it
            dest = Destination(
                kind=DestinationKind.CHANNEL, platform=str(spec["platform"]), channel=str(spec["channel"])
            )
            await uow.outbox.enqueue(dest, built.message, at=now)
        return f"digest to {spec['platform']}:{spec['channel']}{' (late)' if late else ''}"

    async def run(self, after_tick: Callable[[list[str]], Awaitable[None]] | None = None) -> None:
        """Tick until `stop()`. `after_tick` sees what each tick did (the console delivers and shows it)."""
        await self.start()
        loop = asyncio.get_running_loop()
        last = -COALESCE
        while not self._stopping:
            if (gap := last + COALESCE - loop.time()) > 0:
                await until_set(self._stopped, gap)  # commits meanwhile are all seen by the next tick
                if self._stopping:
                    return
            self._wake.clear()
            last = loop.time()
            try:
                done = await self.tick()
                if done and after_tick is not None:
                    await after_tick(done)
            except Exception:
                log.exception("scheduler tick failed; trying again shortly")
            if self._stopping:
                return
            if self._next_due is not None:  # read by a tick that found nothing due
                next_at = self._next_due[0]
            else:
                async with self.ctx.store.reading() as uow:
                    next_at = await uow.timers.next_due()
            timeout = self.poll
            if next_at is not None:
                timeout = min(self.poll, max(0.05, (next_at - self.ctx.clock.now()).total_seconds()))
            if self._held_elsewhere:
                timeout = min(self.poll, max(timeout, HELD_RETRY))
            await until_set(self._wake, timeout)
