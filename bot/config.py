"""Configuration: `config.example.toml` validated by pydantic models before anything starts.

Core tables live here; each adapter owns the model of its own table (`[console]`, `[slack]`, …) and
extends `PlatformChannels`. Secrets never live in the file: adapters read them from the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain.ticket import Priority
from bot.incidents_config import IncidentsConfig
from bot.ops_config import OpsConfig, RetentionConfig
from bot.sla_config import AutomationConfig, DigestsConfig, SlaConfig
from bot.teams_config import TeamConfig, check_teams
from bot.transcripts.config import TranscriptsConfig
from bot.web_config import WebConfig
from bot.webhooks.config import WebhookConfig, check_names

USER_KEY = re.compile(r"^[a-z][a-z0-9_-]*:[^\s:]+$")


class ConfigError(Exception):
    """A configuration problem, worded for the person editing the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Strict):
    path: Path = Field(default=Path("threaddesk.db"), description="SQLite file; created when missing")
    url: str | None = Field(
        default=None,
        description="postgresql://user@host:5432/db — use PostgreSQL instead of the SQLite file (the password, "
        "if any, only in THREADDESK_DATABASE_URL)",
    )
    pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL connections per process")
    lease_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="how long a crashed process keeps the database before another may take it",
    )
    synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="NORMAL: a commit survives a process crash; FULL: also a power cut (an fsync per commit)",
    )

    @field_validator("url")
    @classmethod
    def _postgresql_without_secret(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"expected a postgresql://user@host:5432/database URL, not {parts.scheme or url!r}")
        if parts.password is not None:
            raise ValueError(
                "the URL holds a password — keep secrets out of files: set THREADDESK_DATABASE_URL instead"
            )
        return url


class KbConfig(_Strict):
    path: Path | None = Field(default=None, description="folder of Markdown articles; unset = the bundled sample")
    suggestions: int = Field(default=3, ge=0, le=5)
    min_score: float | None = Field(default=None, ge=0, le=100)
    semantic: bool = Field(default=False, description="fuse MiniLM sentence embeddings (needs the semantic extra)")


class RolesConfig(_Strict):
    agents: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()

    @field_validator("agents", "leads", "admins")
    @classmethod
    def _user_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not USER_KEY.match(item):
                raise ValueError(f"{item!r} is not 'platform:user-id' (e.g. 'console:bob', 'slack:U0123')")
        return value


class IntakeRule(_Strict):
    match: str = Field(description="regular expression, case-insensitive, searched in the message")
    priority: Priority | None = None
    category: str | None = None
    team: str | None = Field(default=None, description="route matching tickets to this team ([[teams]])")

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    def matches(self, text: str) -> bool:
        return re.search(self.match, text, re.IGNORECASE) is not None


class IntakeConfig(_Strict):
    max_open_per_customer: int = Field(default=5, ge=0, description="0 means no limit")
    default_priority: Priority = Priority.NORMAL
    default_category: str = "general"
    rules: tuple[IntakeRule, ...] = ()

    def classify(self, text: str) -> tuple[Priority, str]:
        """Highest priority among matching rules; category from the first matching rule that sets one."""
        priority, category = self.default_priority, None
        for rule in self.rules:
            if not rule.matches(text):
                continue
            if rule.priority and rule.priority.rank > priority.rank:
                priority = rule.priority
            if category is None and rule.category:
                category = rule.category
        return priority, category or self.default_category

    def team_for(self, text: str) -> str | None:
        """The team of the first matching rule that names one."""
        return next((r.team for r in self.rules if r.team and r.matches(text)), None)


class PlatformChannels(_Strict):
    """What every adapter table has. Channel ids are the platform's own."""

    enabled: bool = False
    intake_channels: tuple[str, ...] = ()
    queue_channel: str | None = None
    leads_channel: str | None = None
    archive_channel: str | None = None  # where ticket transcripts are posted at close ([transcripts])
    #: where agents work this platform's tickets, when not here (e-mail has no place for cards and notes)
    agents_platform: str | None = None


class Settings(_Strict):
    store: StoreConfig = StoreConfig()
    kb: KbConfig = KbConfig()
    roles: RolesConfig = RolesConfig()
    intake: IntakeConfig = IntakeConfig()
    sla: SlaConfig = SlaConfig()
    digests: DigestsConfig = DigestsConfig()
    automation: AutomationConfig = AutomationConfig()
    webhooks: tuple[WebhookConfig, ...] = ()
    transcripts: TranscriptsConfig = TranscriptsConfig()
    web: WebConfig = WebConfig()
    ops: OpsConfig = OpsConfig()
    retention: RetentionConfig = RetentionConfig()
    teams: tuple[TeamConfig, ...] = ()
    incidents: IncidentsConfig = IncidentsConfig()
    adapters: Mapping[str, PlatformChannels] = Field(default_factory=dict)
    source: Path | None = None

    def resolve(self, path: Path) -> Path:
        """Relative paths in the file are relative to the file's folder."""
        if path.is_absolute() or self.source is None:
            return path
        return self.source.parent / path


def load_settings(
    path: Path | None,
    adapter_models: Mapping[str, type[PlatformChannels]],
    *,
    db_override: Path | None = None,
    database_url: str | None = None,
) -> Settings:
    """The settings in the file at `path`. `db_override` (`--db`) picks an SQLite file; otherwise
    `database_url` (default: `THREADDESK_DATABASE_URL`) picks a PostgreSQL database over the file's [store]."""
    if database_url is None and db_override is None:
        database_url = os.environ.get("THREADDESK_DATABASE_URL") or None
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist (copy config.example.toml)") from exc
        except IsADirectoryError as exc:
            raise ConfigError(f"--config {path} is a folder — give the path of a TOML file") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not a text file (expected TOML in UTF-8)") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read the config file {path} ({exc.strerror})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    settings = settings_from_dict(raw, adapter_models, source=path, db_override=db_override)
    if database_url:
        # from the environment: may hold a password, so it is not validated against the file's rule
        store = settings.store.model_construct(**{**settings.store.model_dump(), "url": database_url})
        settings = settings.model_copy(update={"store": store})
    return settings


def settings_from_dict(
    raw: Mapping[str, Any],
    adapter_models: Mapping[str, type[PlatformChannels]],
    *,
    source: Path | None = None,
    db_override: Path | None = None,
) -> Settings:
    where = str(source) if source else "config"
    core_keys = {
        "store",
        "kb",
        "roles",
        "intake",
        "sla",
        "digests",
        "automation",
        "web",
        "ops",
        "retention",
        "teams",
        "incidents",
        "webhooks",
        "transcripts",
    }
    unknown = set(raw) - core_keys - set(adapter_models)
    if unknown:
        allowed = ", ".join(f"[{k}]" for k in sorted(core_keys | set(adapter_models)))
        raise ConfigError(f"{where}: unknown table(s) {', '.join(sorted(unknown))}; allowed: {allowed}")
    errors: list[str] = []
    adapters: dict[str, PlatformChannels] = {}
    for name, model in adapter_models.items():
        try:
            adapters[name] = model.model_validate(raw.get(name, {}))
        except ValidationError as exc:
            errors.extend(_describe(exc, prefix=name))
    core: dict[str, Any] = {k: v for k, v in raw.items() if k in core_keys}
    try:
        settings = Settings.model_validate({**core, "adapters": adapters, "source": source})
    except ValidationError as exc:
        errors[:0] = _describe(exc)
    else:
        errors.extend(_check_digest_targets(settings))
        errors.extend(check_names(settings.webhooks))
        errors.extend(_check_agents_platforms(settings))
        errors.extend(check_teams(settings.teams, [r.team for r in settings.intake.rules]))
    if errors:
        raise ConfigError(f"{where} has {len(errors)} problem(s):\n" + "\n".join(f"  {e}" for e in errors))
    if db_override is not None:
        # an override from the command line or environment is relative to where the user is, not the file
        settings = settings.model_copy(update={"store": StoreConfig(path=db_override.absolute())})
    return settings


def _check_digest_targets(settings: Settings) -> list[str]:
    problems = []
    for i, schedule in enumerate(settings.digests.schedules):
        channels = settings.adapters.get(schedule.platform)
        if channels is None:
            known = ", ".join(sorted(settings.adapters)) or "none"
            problems.append(f"digests.schedules.{i}.platform: unknown platform {schedule.platform!r} (known: {known})")
        elif schedule.channel is None and channels.leads_channel is None:
            problems.append(
                f"digests.schedules.{i}.channel: not set, and [{schedule.platform}] has no leads_channel to use"
            )
    return problems


def _check_agents_platforms(settings: Settings) -> list[str]:
    problems = []
    for name, channels in settings.adapters.items():
        target = channels.agents_platform
        if channels.enabled and target is not None and (target == name or target not in settings.adapters):
            known = ", ".join(sorted(p for p in settings.adapters if p != name))
            problems.append(f"{name}.agents_platform: {target!r} is not another platform (known: {known})")
    return problems


def _describe(exc: ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "adapters")
        key = f"{prefix}.{loc}" if prefix else loc
        got = err.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{key}: {message}{shown}")
    return lines
