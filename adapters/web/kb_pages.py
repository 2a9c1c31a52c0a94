"""The knowledge base: articles with their statistics, learned wordings, and editing with versions.

Edits are `/kb edit` and `/kb unlearn` commands run through `Desk.run`, one per changed part, so each
change is a version with who and when — the same as editing in chat.
"""

from __future__ import annotations

from aiohttp import web

from adapters.web.common import VIEWER, Viewer, desk_of, flash, notice, prefix_of, render
from adapters.web.session import requires
from bot.domain.roles import Role
from bot.services import dashboard

PARTS = ("title", "aliases", "tags", "category", "body")


@requires(Role.AGENT)
async def index(request: web.Request) -> web.StreamResponse:
    stats = await dashboard.article_stats(desk_of(request).ctx)
    return render(request, "kb.html", stats=stats)


@requires(Role.AGENT)
async def article(request: web.Request) -> web.StreamResponse:
    found = await dashboard.article(desk_of(request).ctx, request.match_info["article"])
    if found is None:
        return notice(request, "No such article", "There is no article with that id.", 404)
    a = found.article
    current = {
        "title": a.title,
        "aliases": "; ".join(a.aliases),
        "tags": ", ".join(a.tags),
        "category": a.category or "",
        "body": a.body,
    }
    return render(request, "article.html", page=found, a=a, current=current)


@requires(Role.AGENT)
async def edit(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    viewer: Viewer = request[VIEWER]
    article_id = request.match_info["article"]
    found = await dashboard.article(desk.ctx, article_id)
    if found is None:
        return notice(request, "No such article", "There is no article with that id.", 404)
    form = await request.post()
    commands: list[str] = []
    if form.get("unlearn"):
        commands.append(f"/kb unlearn {article_id} {form.get('unlearn', '')!s}")
    else:
        a = found.article
        before = {"title": a.title, "aliases": list(a.aliases), "tags": list(a.tags), "category": a.category or ""}
        for part in PARTS:
            if part not in form:
                continue
            value = str(form[part]).replace("\r\n", "\n").strip()
            if part == "body":
                changed = value != a.body.strip()
            elif part == "aliases":
                changed = [x.strip() for x in value.split(";") if x.strip()] != before["aliases"]
            elif part == "tags":
                changed = [x.strip() for x in value.replace(",", " ").split() if x.strip()] != before["tags"]
            else:
                changed = value != before[part]
            if changed:
                commands.append(f"/kb edit {article_id} {part} {value}".rstrip())
    if not commands:
        flash(request, True, "Nothing changed.")
    for command in commands:
        reply = await desk.run(viewer.user, command)
        flash(request, reply.ok, reply.text)
    raise web.HTTPSeeOther(f"{prefix_of(request)}/kb/{article_id}")


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(prefix + "/kb", index)
    app.router.add_get(prefix + "/kb/{article}", article)
    app.router.add_post(prefix + "/kb/{article}", edit)
