"""Incidents in the dashboard: the list, and one incident with its linked tickets, update log and forms.

Like the ticket page, a form is command text: the page composes `/incident <command> <ID> <text>` and runs it
through `Desk.run` as the signed-in person, with the same permission checks and answers as in chat.
"""

from __future__ import annotations

from aiohttp import web

from adapters.web.common import desk_of, notice, number_in_path, prefix_of, render, run_form
from adapters.web.session import requires
from bot.domain.incident import OPEN_STATUSES
from bot.domain.roles import Role
from bot.services import incidents

ACTIONS = ("update", "status", "resolve", "link", "unlink")
"""Incident commands the page's forms may post; anything else goes through the command box as typed."""


@requires(Role.AGENT)
async def incident_list(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    everything = request.query.get("all") == "1"
    rows = await incidents.incident_rows(desk.ctx, everything=everything)
    return render(request, "incidents.html", rows=rows, everything=everything, now=desk.ctx.clock.now())


@requires(Role.AGENT)
async def incident(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    number = number_in_path(request)
    try:
        story = await incidents.incident_story(desk.ctx, number)
    except incidents.UnknownIncident:
        return notice(request, "No such incident", f"There is no incident INC-{number}.", 404)
    return render(
        request,
        "incident.html",
        story=story,
        inc=story.incident,
        now=desk.ctx.clock.now(),
        statuses=[s.value for s in OPEN_STATUSES],
    )


@requires(Role.AGENT)
async def incident_action(request: web.Request) -> web.StreamResponse:
    number = number_in_path(request)
    return await run_form(
        request,
        command="/incident",
        actions=ACTIONS,
        example=f"/incident update {number} We are rolling back.",
        back=f"{prefix_of(request)}/incidents/{number}",
    )


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(prefix + "/incidents", incident_list)
    app.router.add_get(prefix + "/incidents/{number}", incident)
    app.router.add_post(prefix + "/incidents/{number}", incident_action)
