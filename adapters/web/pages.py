"""The queue (filters, sort, paging, live rows) and the ticket page with its actions.

A ticket action is command text: the form says which command and its text, the page composes
`/ticket <command> <N> <text>` and runs it through `Desk.run` as the signed-in person — exactly what
typing it in chat does, with the same permission checks and the same answers.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping

from adapters.web.common import CHOICES, VIEWER, Viewer, desk_of, notice, number_in_path, prefix_of, render, run_form
from adapters.web.session import requires
from bot.domain.roles import Role
from bot.domain.ticket import Priority, Status
from bot.records import SORTS, QueueFilter
from bot.services import dashboard

ACTIVE = tuple(s for s in Status if s.is_active)
PER_PAGE = 50
ACTIONS = ("claim", "unclaim", "reply", "note", "status", "priority", "resolve", "reopen", "close", "escalate", "tag")
"""Ticket commands the page's forms may post; anything else goes through the command box as typed."""


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(prefix_of(request) + "/queue")


def queue_filter(query: MultiMapping[str], viewer: Viewer) -> QueueFilter:
    status = query.get("status", "active")
    statuses: tuple[Status, ...] = ACTIVE
    if status == "all":
        statuses = ()
    elif status in {s.value for s in Status}:
        statuses = (Status(status),)
    priority = query.get("priority", "")
    assignee = query.get("assignee", "")
    sla = query.get("sla", "")
    try:
        page = max(1, min(100_000, int(query.get("page", "1"))))
    except ValueError:
        page = 1
    return QueueFilter(
        statuses=statuses,
        priorities=(Priority(priority),) if priority in {p.value for p in Priority} else (),
        category=query.get("category") or None,
        assignee=viewer.user.id if assignee == "me" else (assignee if assignee not in ("", "none") else None),
        unassigned=assignee == "none" or query.get("unassigned") == "1",
        tag=query.get("tag") or None,
        sla=sla if sla in ("at_risk", "breached") else None,
        text=(query.get("q") or "").strip()[:200] or None,
        sort=query.get("sort", "urgent") if query.get("sort") in SORTS else "urgent",
        page=page,
        per_page=PER_PAGE,
    )


CHOICES_TTL = 30.0
"""The filter menus (categories, assignees, tags on open tickets) are read at most every 30 s."""


async def _choices(request: web.Request) -> dashboard.FilterChoices:
    cache = request.app[CHOICES]
    now = time.monotonic()
    if cache.value is None or now - cache.at >= CHOICES_TTL:
        cache.value, cache.at = await dashboard.filter_choices(desk_of(request).ctx), now
    return cache.value


def _kept(query: MultiMapping[str]) -> dict[str, str]:
    keys = ("status", "priority", "category", "assignee", "tag", "sla", "q", "sort")
    return {k: query[k] for k in keys if query.get(k)}


@requires(Role.AGENT)
async def queue(request: web.Request) -> web.StreamResponse:
    viewer: Viewer = request[VIEWER]
    desk = desk_of(request)
    f = queue_filter(request.query, viewer)
    page = await dashboard.queue(desk.ctx, f)
    choices = await _choices(request)
    kept = _kept(request.query)
    return render(
        request,
        "queue.html",
        page=page,
        choices=choices,
        query=kept,
        query_string=urlencode({**kept, "page": str(f.page)}),
        page_url=lambda n: "?" + urlencode({**kept, "page": str(n)}),
        now=desk.ctx.clock.now(),
        statuses=[s.value for s in Status],
        priorities=[p.value for p in Priority],
        sorts=list(SORTS),
    )


@requires(Role.AGENT)
async def queue_rows(request: web.Request) -> web.StreamResponse:
    """Live updates: 204 while nothing changed since `stamp`, else the table body and the new stamp."""
    viewer: Viewer = request[VIEWER]
    desk = desk_of(request)
    if request.query.get("stamp") == await dashboard.stamp(desk.ctx):
        return web.Response(status=204)
    page = await dashboard.queue(desk.ctx, queue_filter(request.query, viewer))
    response = render(request, "queue_rows.html", page=page, now=desk.ctx.clock.now())
    response.headers["X-Stamp"] = page.stamp
    response.headers["X-Total"] = page.shown_total
    return response


@requires(Role.AGENT)
async def ticket(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    number = number_in_path(request)
    story = await dashboard.ticket_story(desk.ctx, number)
    if story is None:
        return notice(request, "No such ticket", f"There is no ticket #{number}.", 404)
    return render(
        request,
        "ticket.html",
        story=story,
        t=story.ticket,
        now=desk.ctx.clock.now(),
        statuses=[s.value for s in Status],
        priorities=[p.value for p in Priority],
    )


@requires(Role.AGENT)
async def ticket_action(request: web.Request) -> web.StreamResponse:
    number = number_in_path(request)
    return await run_form(
        request,
        command="/ticket",
        actions=ACTIONS,
        example=f"/ticket note {number} Waiting for the vendor.",
        back=f"{prefix_of(request)}/tickets/{number}",
    )


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(prefix + "/queue", queue)
    app.router.add_get(prefix + "/queue/rows", queue_rows)
    app.router.add_get(prefix + "/tickets/{number}", ticket)
    app.router.add_post(prefix + "/tickets/{number}", ticket_action)
