"""Signing in and out, and who is looking: every dashboard page runs behind `@requires(role)`.

The session row says who; the role is asked of the desk (the same role source chat uses) on every
request, so someone removed from `[roles]` or a Slack/Discord group loses the dashboard at once.
POSTs carry the session's CSRF token.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.web.common import CONFIG, VIEWER, Viewer, desk_of, notice, prefix_of, render
from bot.domain.roles import Role
from bot.services import web_auth
from bot.services.web_auth import LinkProblem

COOKIE = "threaddesk_session"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _access(request: web.Request) -> web_auth.DashboardAccess:
    access = desk_of(request).ctx.dashboard
    if access is None:  # built without `[web] enabled`: nothing can be signed
        raise web.HTTPServiceUnavailable(text="The dashboard is not enabled ([web] enabled = false).")
    return access


def _https(request: web.Request) -> bool:
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.app[CONFIG].https or request.secure or forwarded == "https"


SIGNED_OUT = "Type /dashboard in chat (agents, team leads and admins) for a one-time sign-in link."
CUSTOMERS = (
    "The dashboard is for agents, team leads and admins. If you asked us for help, your conversation with "
    "ThreadDesk in chat is where you follow your request."
)


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Let the request through only for a live session whose person is (still) at least `role`;
    POSTs must carry the session's CSRF token."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            desk = desk_of(request)
            session = await web_auth.session_for(desk.ctx.store, desk.ctx.clock, request.cookies.get(COOKIE, ""))
            if session is None:
                return notice(request, "Signed out", f"You are not signed in, or your session ended. {SIGNED_OUT}", 401)
            current = desk.role_of(session.user)
            if not current.at_least(Role.AGENT):
                return notice(request, "No dashboard for this account", CUSTOMERS, 403)
            request[VIEWER] = viewer = Viewer(session.user, current, session)
            if not current.at_least(role):
                return notice(
                    request,
                    "Not for your role",
                    f"This page is for {role.plural}; you are signed in as {current.with_article}.",
                    403,
                )
            if request.method == "POST":
                form = await request.post()
                sent = str(form.get("csrf", ""))
                if not sent or not hmac.compare_digest(sent, viewer.csrf):
                    return notice(
                        request,
                        "Form expired",
                        "This form was not sent from your dashboard session (or is from an old page). "
                        "Go back, reload the page and try again.",
                        403,
                    )
            return await handler(request)

        return guarded

    return wrap


async def signin_page(request: web.Request) -> web.StreamResponse:
    """The link from chat opens a confirmation, so link previews (which fetch URLs) can't use it up."""
    desk = desk_of(request)
    token = request.match_info["token"]
    checked = await web_auth.check_link(desk.ctx.store, desk.ctx.clock, _access(request), token)
    if isinstance(checked, LinkProblem):
        return notice(request, "Sign-in link not usable", checked.value, 400)
    role = desk.role_of(checked)
    if not role.at_least(Role.AGENT):
        return notice(request, "No dashboard for this account", CUSTOMERS, 403)
    return render(request, "signin.html", person=checked, role=role, token=token)


async def signin(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    form = await request.post()
    token = str(form.get("token", ""))
    checked = await web_auth.check_link(desk.ctx.store, desk.ctx.clock, _access(request), token)
    if not isinstance(checked, LinkProblem) and not desk.role_of(checked).at_least(Role.AGENT):
        return notice(request, "No dashboard for this account", CUSTOMERS, 403)
    result = await web_auth.redeem_link(
        desk.ctx.store, desk.ctx.clock, _access(request), token, request.headers.get("User-Agent", "")
    )
    if isinstance(result, LinkProblem):
        return notice(request, "Sign-in link not usable", result.value, 400)
    cookie, _ = result
    response = web.Response(status=303, headers={"Location": prefix_of(request) + "/queue"})
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(web_auth.SESSION_TTL.total_seconds()),
        path=prefix_of(request) or "/",
        httponly=True,
        samesite="Lax",
        secure=_https(request),
    )
    return response


@requires(Role.AGENT)
async def signout(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    viewer: Viewer = request[VIEWER]
    form = await request.post()
    everywhere = form.get("everywhere") == "1"
    if everywhere:
        await web_auth.revoke(desk.ctx.store, desk.ctx.clock, user=viewer.user)
    else:
        await web_auth.revoke(desk.ctx.store, desk.ctx.clock, session=viewer.session)
    response = notice(
        request,
        "Signed out",
        ("You are signed out on every device. " if everywhere else "You are signed out. ") + SIGNED_OUT,
        200,
    )
    response.del_cookie(COOKIE, path=prefix_of(request) or "/")
    return response


@requires(Role.AGENT)
async def account(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    viewer: Viewer = request[VIEWER]
    live = await web_auth.live_sessions(desk.ctx.store, desk.ctx.clock, viewer.user)
    return render(request, "account.html", sessions=live, current=viewer.session.token_hash)


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(prefix + "/signin/{token}", signin_page)
    app.router.add_post(prefix + "/signin", signin)
    app.router.add_post(prefix + "/signout", signout)
    app.router.add_get(prefix + "/account", account)
