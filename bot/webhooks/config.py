"""`[[webhooks]]`: where ticket events are POSTed, which ones, and how long a delivery keeps trying."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.sla_config import parse_duration

#: The event types an endpoint can subscribe to, exactly as documented (`*` subscribes to all).
EVENT_TYPES: tuple[str, ...] = (
    "ticket.created",
    "ticket.updated",
    "ticket.assigned",
    "ticket.replied",
    "ticket.resolved",
    "ticket.closed",
    "ticket.reopened",
    "csat.rated",
    "sla.breached",
    "incident.created",
    "incident.updated",
    "incident.status_changed",
    "incident.resolved",
    "incident.linked",
    "incident.unlinked",
)
#: `incident.*` subscribes to every incident event (those above starting `incident.`).
INCIDENTS = "incident.*"
#: What `threaddesk webhooks test` sends; every endpoint accepts it.
TEST_TYPE = "webhook.test"
SECRET_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="http(s) URL the events are POSTed to")
    name: str = Field(default="", description="how the CLI names the endpoint; default: the URL's host")
    events: tuple[str, ...] = Field(default=("*",), description="event types, or '*' for all")
    secret_env: str = Field(description="environment variable holding the signing secret (whsec_…)")
    include_internal: bool = Field(default=False, description="also send internal notes")
    timeout: float = Field(default=10.0, gt=0, le=120, description="seconds one attempt may take")
    give_up_after: str = Field(default="24h", description="stop retrying a delivery this long after the event")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL (e.g. 'https://hooks.example.com/threaddesk')")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one event type, or '*' for all")
        for name in value:
            if name not in ("*", INCIDENTS) and name not in EVENT_TYPES:
                known = ", ".join(EVENT_TYPES)
                raise ValueError(f"{name!r} is not an event type; use '*' or any of: {known}, {INCIDENTS}")
        return value

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str) -> str:
        if not SECRET_ENV.match(value):
            raise ValueError(f"{value!r} is not an environment variable name (e.g. 'THREADDESK_WEBHOOK_SECRET')")
        return value

    @field_validator("give_up_after")
    @classmethod
    def _give_up(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def label(self) -> str:
        return self.name or (urlsplit(self.url).hostname or self.url)

    @property
    def give_up(self) -> timedelta:
        return parse_duration(self.give_up_after)

    def wants(self, event_type: str) -> bool:
        if event_type == TEST_TYPE:
            return True
        for name in self.events:
            if name in ("*", event_type):
                return True
            if name == INCIDENTS and event_type.startswith("incident."):
                return True
        return False


def check_names(hooks: tuple[WebhookConfig, ...]) -> list[str]:
    """Every endpoint needs its own name (the CLI and the delivery log use it)."""
    problems, seen = [], set()
    for i, hook in enumerate(hooks):
        if hook.label in seen:
            problems.append(f"webhooks.{i}.name: another endpoint is already called {hook.label!r}; set `name`")
        seen.add(hook.label)
    return problems
