"""`/dashboard`: a one-time sign-in link to the web dashboard, answered only to the person who asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.errors import CommandError
from bot.services import notify, web_auth
from bot.services.replies import Reply

if TYPE_CHECKING:
    from bot.services.desk_context import DeskContext
    from bot.services.request import Request
    from bot.services.ticket_work import TicketWork


async def link(ctx: DeskContext, req: Request) -> Reply:
    if ctx.dashboard is None:
        raise CommandError(
            "The web dashboard is not running. Set `[web] enabled = true` (and a free `[web] port`) in the config "
            "and restart ThreadDesk."
        )
    url = await web_auth.issue_link(ctx.store, ctx.clock, ctx.dashboard, req.actor)
    return Reply.done(
        f"Your dashboard sign-in link (only you see it; it works once, within 10 minutes): {url}\n"
        "Anyone holding it can sign in as you — don't share it."
    )


async def post_transcript_link(work: TicketWork) -> None:
    """When a ticket closes, its card thread gets the link to the read-only transcript page (agents sign in
    to read it). Nothing when the dashboard is off."""
    access = work.ctx.dashboard
    if access is None:
        return
    url = access.url(f"/transcripts/{work.ticket.number}")
    await work.to_card_thread(notify.card_event(work.ticket, f"closed — transcript: {url}"))
