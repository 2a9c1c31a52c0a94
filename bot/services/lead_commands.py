"""Team-lead commands: `/ticket stats` and `/digest now`."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.errors import CommandError
from bot.services import digest
from bot.services.desk_context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request
from bot.sla_config import parse_duration

DEFAULT_PERIOD = timedelta(days=7)


def period_of(text: str, default: timedelta = DEFAULT_PERIOD) -> timedelta:
    if not text.strip():
        return default
    try:
        return parse_duration(text)
    except ValueError:
        raise CommandError(f"“{text.strip()[:40]}” is not a period. Try `/ticket stats 24h`, `7d` or `30d`.") from None


async def stats(ctx: DeskContext, req: Request) -> Reply:
    span = period_of(req.command.text)
    until = ctx.clock.now()
    async with ctx.store.reading() as uow:
        report = await uow.reports.report(until - span, until)
        previous = await uow.reports.report(until - 2 * span, until - span)
    return Reply.done(digest.digest_text(report, previous, until, title="📊 Queue stats"))


async def digest_now(ctx: DeskContext, req: Request) -> Reply:
    platform = req.actor.platform
    channel = ctx.channels(platform).leads_channel
    if not channel:
        raise CommandError(f"No leads channel is configured for {platform} (`leads_channel` in its config table).")
    now = ctx.clock.now()
    async with ctx.store.reading() as uow:
        last = await uow.timers.last_digest_run(platform, channel)
    since = last or now - timedelta(days=1)
    built = await digest.build(ctx, since, now, ctx.charts_dir, note=f"(asked for by {req.actor.display})")
    await digest.post(ctx, platform, channel, built.message)
    return Reply.done(f"Digest posted in #{channel}.")
