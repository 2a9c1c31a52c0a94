"""Everything a use case needs, wired once by the composition root."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import IntakeConfig, PlatformChannels, RolesConfig
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.sla import SlaPolicy
from bot.incidents_config import IncidentsConfig
from bot.ports import Clock, PeopleNames, RoleSource, Store, UnitOfWork
from bot.services.knowledge import KnowledgeLibrary
from bot.services.macro_library import MacroLibrary
from bot.services.teams import TeamDirectory
from bot.services.web_auth import DashboardAccess
from bot.sla_config import AutomationConfig
from bot.transcripts.config import TranscriptsConfig
from bot.webhooks.config import WebhookConfig
from kb.grouping import ReportSimilarity
from kb.matcher import Embedder
from kb.topics import KbTopics


class RoleDirectory:
    """Roles from the `[roles]` lists, plus whatever a platform knows (user groups, guild roles)."""

    def __init__(self, config: RolesConfig, sources: Sequence[RoleSource] = ()) -> None:
        self._by_key: dict[str, Role] = {}
        for role, keys in (
            (Role.AGENT, config.agents),
            (Role.LEAD, config.leads),
            (Role.ADMIN, config.admins),
        ):
            for key in keys:
                self._by_key[key] = role  # later lists win: an admin listed as agent too is an admin
        self._sources = list(sources)

    def add_source(self, source: RoleSource) -> None:
        self._sources.append(source)

    def role_of(self, user: UserRef) -> Role:
        best = self._by_key.get(user.key, Role.CUSTOMER)
        for source in self._sources:
            found = source.role_of(user)
            if found is not None and found.rank > best.rank:
                best = found
        return best

    def agents(self, platform: str) -> list[str]:
        """User ids listed as agents (not leads or admins) on `platform`: who is on duty for the queue."""
        prefix = platform + ":"
        return [k.removeprefix(prefix) for k, r in self._by_key.items() if k.startswith(prefix) and r is Role.AGENT]

    def staff(self, platform: str) -> list[str]:
        """User ids of configured agents and above on `platform` (for `assign` by name)."""
        prefix = platform + ":"
        return [key.removeprefix(prefix) for key in self._by_key if key.startswith(prefix)]


@dataclass
class DeskContext:
    store: Store
    clock: Clock
    roles: RoleDirectory
    intake: IntakeConfig = field(default_factory=IntakeConfig)
    routing: Mapping[str, PlatformChannels] = field(default_factory=dict)
    kb: KnowledgeLibrary = field(default_factory=KnowledgeLibrary)
    suggestions: int = 3
    sla: SlaPolicy | None = None
    automation: AutomationConfig = field(default_factory=AutomationConfig)
    charts_dir: Path | None = None  # where digest charts are written; None draws no chart
    webhooks: tuple[WebhookConfig, ...] = ()  # endpoints that get ticket events (`[[webhooks]]`)
    transcripts: TranscriptsConfig = field(default_factory=TranscriptsConfig)
    transcripts_dir: Path | None = None  # where transcript files are written
    #: customer platform → the platform its agents work on (e-mail tickets are worked from chat)
    desk_platforms: Mapping[str, str] = field(default_factory=dict)
    macros: MacroLibrary = field(default_factory=MacroLibrary)
    dashboard: DashboardAccess | None = None  # the web dashboard, when `[web] enabled`
    teams: TeamDirectory = field(default_factory=TeamDirectory)
    #: platform → how it names people its events give only an id for (messages handled from the inbox)
    people_names: Mapping[str, PeopleNames] = field(default_factory=dict)
    incidents: IncidentsConfig = field(default_factory=IncidentsConfig)
    #: report-to-report similarity for incident detection, with its background of recent reports
    grouping: ReportSimilarity = field(default_factory=ReportSimilarity)
    grouping_ready: bool = False  # its background was loaded from the store
    grouping_topics: tuple[str, ...] | None = None  # the articles whose subjects it tells apart (`kb.topics`)
    report_articles: KbTopics | None = None  # the articles reports are recognised as, with `kb_topics`
    grouping_embedder: Embedder | None = None  # fused into `grouping` when `[incidents] semantic` is on
    #: lifts between recent reports (ticket numbers, lower first) that reach `incidents.similarity`, kept for
    #: detection; lost on restart. Only those are kept (a pair not found is not alike), but the store is
    #: emptied as if every compared pair were in it: after `pairs_compared` passes 200,000.
    pair_lifts: dict[tuple[int, int], float] = field(default_factory=dict)
    pairs_compared: int = 0

    _names: dict[str, str] = field(default_factory=dict)

    async def remember(self, uow: UnitOfWork, person: UserRef) -> None:
        """Keep display names for `assign @name` and `/ticket customer`; written only when they change."""
        if person.name and self._names.get(person.key) != person.name:
            if len(self._names) > 50_000:
                self._names.clear()
            await uow.people.remember_person(person, self.clock.now())
            self._names[person.key] = person.name

    def desk_platform(self, platform: str) -> str:
        """Where agents see and work tickets whose customer is on `platform` (cards, notes, alerts)."""
        return self.desk_platforms.get(platform, platform)

    def note_name(self, person: UserRef) -> None:
        """A display name read from the store: kept for the next lookup (nothing is written)."""
        if person.name:
            if len(self._names) > 50_000:
                self._names.clear()
            self._names[person.key] = person.name

    def known_name(self, person_key: str) -> str | None:
        """The display name this process last saw for `platform:user-id` (None: look it up)."""
        return self._names.get(person_key)

    def channels(self, platform: str) -> PlatformChannels:
        return self.routing.get(platform) or PlatformChannels()
