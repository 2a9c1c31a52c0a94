"""The dashboard's aiohttp application: security headers, templates, static files, and the pages.

`build_app(desk, config, extensions=…)` returns a plain `aiohttp.web.Application`; an extension is any
function taking that application (e.g. one adding `/healthz` and `/metrics` routes) and is applied after
the dashboard's own routes, under no prefix and without sign-in. `serve(...)` runs it until cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from adapters.web import incident_pages, kb_pages, pages, reports, session, transcript
from adapters.web.common import CHOICES, CONFIG, DESK, FLASH, TEMPLATES, ChoicesCache, environment
from bot.services.desk import Desk
from bot.web_config import WebConfig

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
Extension = Callable[[web.Application], None]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and errors get the headers too
        response = exc
        _secure(response)
        raise
    _secure(response)
    return response


def _secure(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # sign-in tokens never leak in a Referer
    response.headers.setdefault("Cache-Control", "no-store")


def build_app(desk: Desk, config: WebConfig, extensions: Sequence[Extension] = ()) -> web.Application:
    app = web.Application(middlewares=[security_headers])
    app[DESK] = desk
    app[CONFIG] = config
    app[TEMPLATES] = environment(config.prefix)
    app[FLASH] = {}
    app[CHOICES] = ChoicesCache()
    p = config.prefix
    app.router.add_get(p + "/", pages.home)
    if p:
        app.router.add_get(p, pages.home)
    app.router.add_static(p + "/static/", STATIC, name="static")
    session.add_routes(app, p)
    pages.add_routes(app, p)
    incident_pages.add_routes(app, p)
    reports.add_routes(app, p)
    kb_pages.add_routes(app, p)
    transcript.add_routes(app, p)
    for extend in extensions:
        extend(app)
    return app


class WebStartupError(Exception):
    """The dashboard could not listen (address in use, no permission): one line with the fix."""


@asynccontextmanager
async def serve(desk: Desk, config: WebConfig, extensions: Sequence[Extension] = ()) -> AsyncIterator[str]:
    """Serve the dashboard while the block runs; yields the public address."""
    runner = web.AppRunner(build_app(desk, config, extensions), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as exc:
            raise WebStartupError(
                f"[web] cannot listen on {config.host}:{config.port} ({exc.strerror or exc}) — "
                "set [web] port to a free port, or stop what uses it"
            ) from None
        log.info("web dashboard on %s (listening on %s:%d)", config.public_url, config.host, config.port)
        yield config.public_url
    finally:
        await runner.cleanup()
