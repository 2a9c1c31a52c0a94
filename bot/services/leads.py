"""Team-lead commands — `/ticket stats`, `/digest now` — and the customer's `/ticket rate`."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.errors import CommandError, PermissionDenied
from bot.domain.text import clean_text
from bot.outbound import Message
from bot.services import digest
from bot.services.desk_context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request, ticket_work
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


async def rate(ctx: DeskContext, req: Request) -> Reply:
    score, _, comment = clean_text(req.command.text).partition(" ")
    if score not in {"1", "2", "3", "4", "5"}:
        raise CommandError("Rate from 1 (poor) to 5 (great), e.g. `/ticket rate 42 5 Quick and friendly`.")
    async with ticket_work(ctx, req) as work:
        t = work.ticket
        if not req.actor.same(t.customer):
            raise PermissionDenied(f"Only {t.customer.display}, who opened {t.ref}, can rate it.")
        survey = await work.uow.csat.get(t.number)
        if survey is None:
            raise CommandError(f"{t.ref} has no survey yet: we ask for a rating when a ticket is closed.")
        await work.uow.csat.rate(t.number, int(score), comment.strip() or None, work.now)
        await work.event("csat_rated", rating=int(score), comment=comment.strip())
        said = f": {comment.strip()}" if comment.strip() else ""
        await work.to_card_thread(Message(text=f"{t.ref}: {t.customer.display} rated us {score}/5{said}"))
    hint = "" if comment.strip() else f" Add a comment any time: `/ticket rate {t.number} {score} <comment>`."
    return Reply.done(f"Thanks for rating {t.ref} {score}/5!{hint}", t.number)
