"""The read-only transcript of one ticket: every message in order — the customer's, the agents' replies,
the bot's posts and the internal notes (marked) — with delivery state, for agents to read and share.

Issue 17 writes transcript files when a ticket closes; this is the page view of the same log.
"""

from __future__ import annotations

from aiohttp import web

from adapters.web.common import desk_of, notice, render
from adapters.web.session import requires
from bot.domain.roles import Role
from bot.services import dashboard


@requires(Role.AGENT)
async def page(request: web.Request) -> web.StreamResponse:
    try:
        number = int(request.match_info["number"])
    except ValueError:
        raise web.HTTPNotFound() from None
    found = await dashboard.transcript(desk_of(request).ctx, number)
    if found is None:
        return notice(request, "No such ticket", f"There is no ticket #{number}.", 404)
    ticket, messages = found
    return render(request, "transcript.html", t=ticket, messages=messages, now=desk_of(request).ctx.clock.now())


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(prefix + "/transcripts/{number}", page)
