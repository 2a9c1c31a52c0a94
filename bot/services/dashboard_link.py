"""`/dashboard`: a one-time sign-in link to the web dashboard, answered only to the person who asked."""

from __future__ import annotations

from bot.domain.errors import CommandError
from bot.services import web_auth
from bot.services.context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request


async def link(ctx: DeskContext, req: Request) -> Reply:
    if ctx.dashboard is None:
        raise CommandError("The web dashboard is off. Set `[web] enabled = true` in the config and restart ThreadDesk.")
    url = await web_auth.issue_link(ctx.db, ctx.clock, ctx.dashboard, req.actor)
    return Reply.done(
        f"Your dashboard sign-in link (only you see it; it works once, within 10 minutes): {url}\n"
        "Anyone holding it can sign in as you — don't share it."
    )
