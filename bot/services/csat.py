"""The customer's `/ticket rate`: a rating (1–5) and an optional comment for a closed ticket's survey."""

from __future__ import annotations

from bot.domain.errors import CommandError, PermissionDenied
from bot.domain.text import clean_text
from bot.outbound import Message
from bot.services.desk_context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request, ticket_work


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
