"""What every page shares: the application keys, the template environment and rendering helpers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.ticket import humanize_duration
from bot.services.dashboard import FilterChoices
from bot.services.desk import Desk
from bot.services.web_auth import Session
from bot.web_config import WebConfig

DESK = web.AppKey("desk", Desk)
CONFIG = web.AppKey("web_config", WebConfig)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
FLASH = web.AppKey("flash", dict)


@dataclass(frozen=True)
class Viewer:
    user: UserRef
    role: Role
    session: Session

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def can(self, role: str) -> bool:
        return self.role.at_least(Role(role))


VIEWER = web.RequestKey("viewer", Viewer)


@dataclass
class ChoicesCache:
    """The queue's filter menus as last read, and when (monotonic seconds)."""

    at: float = float("-inf")
    value: FilterChoices | None = None


CHOICES = web.AppKey("filter_choices", ChoicesCache)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def _since(moment: datetime, now: datetime) -> str:
    """`5m ago`, or `just now`."""
    age = humanize_duration(now - moment)
    return age if age == "just now" else f"{age} ago"


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def environment(prefix: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,  # every value is escaped: customer text can never become markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["prefix"] = prefix
    env.filters["when"] = _when
    env.filters["ago"] = lambda moment, now: humanize_duration(now - moment)
    env.filters["since"] = _since
    env.filters["label"] = lambda value: str(value).replace("_", " ")
    return env


def desk_of(request: web.Request) -> Desk:
    return request.app[DESK]


def prefix_of(request: web.Request) -> str:
    return request.app[CONFIG].prefix


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    env = request.app[TEMPLATES]
    viewer = request.get(VIEWER)
    flashes = pop_flash(request) if viewer is not None else []
    html = env.get_template(template).render(viewer=viewer, flashes=flashes, **values)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def notice(request: web.Request, title: str, text: str, status: int) -> web.Response:
    """A page that explains a refusal in one plain sentence and what to do."""
    return render(request, "notice.html", status=status, title=title, text=text)


def flash(request: web.Request, ok: bool, text: str) -> None:
    """A command's answer, shown once on the next page this session sees."""
    viewer = request.get(VIEWER)
    if viewer is None:
        return
    store: dict[str, list[tuple[bool, str]]] = request.app[FLASH]
    if len(store) > 10_000:
        store.clear()
    store.setdefault(viewer.session.token_hash, []).append((ok, text))


def pop_flash(request: web.Request) -> list[tuple[bool, str]]:
    viewer = request[VIEWER]
    store: dict[str, list[tuple[bool, str]]] = request.app[FLASH]
    return store.pop(viewer.session.token_hash, [])


def number_in_path(request: web.Request) -> int:
    """The `{number}` of a ticket's or an incident's address; 404 when it is not one."""
    try:
        return int(request.match_info["number"])
    except ValueError:
        raise web.HTTPNotFound() from None


async def run_form(
    request: web.Request, *, command: str, actions: Collection[str], example: str, back: str
) -> web.StreamResponse:
    """Run a page's form as the chat command it stands for, as the signed-in person: `<command> <action>
    <number> <text>` (`/ticket claim 12`) for one of `actions`, or the command box's text as typed. The answer is
    flashed on `back`."""
    viewer: Viewer = request[VIEWER]
    number = number_in_path(request)
    form = await request.post()
    action = str(form.get("action", ""))
    text = str(form.get("text", "")).strip()
    if action == "command":
        typed = text
    elif action in actions:
        typed = f"{command} {action} {number} {text}".rstrip()
    else:
        return notice(request, "Unknown action", f"“{action[:40]}” is not something this page can do.", 400)
    if not typed:
        flash(request, False, f"Type a command first, e.g. {example}")
    else:
        reply = await desk_of(request).run(viewer.user, typed)
        flash(request, reply.ok, reply.text)
    raise web.HTTPSeeOther(back)
