"""Build the core from settings. The CLI (the composition root) adds the adapters on top."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import kb as kb_package
from bot.config import ConfigError, Settings
from bot.ports import Clock, GroupMembers, PeopleNames, RoleSource, Store, SystemClock
from bot.services.desk import Desk
from bot.services.desk_context import DeskContext, RoleDirectory
from bot.services.knowledge import KnowledgeLibrary, MatcherBuilder, import_articles
from bot.services.macro_library import MacroLibrary
from bot.services.teams import TeamDirectory
from bot.services.web_auth import SECRET_ENV, DashboardAccess
from kb import semantic
from kb.fit_cache import FitCache
from kb.loader import load_directory
from kb.matcher import DEFAULT_MIN_SCORE, Embedder, Matcher
from kb.progress import NO_PROGRESS, Progress

log = logging.getLogger(__name__)

BUNDLED_KB = Path(kb_package.__file__).resolve().parent / "sample"


def kb_folder(settings: Settings) -> Path:
    folder = settings.resolve(settings.kb.path) if settings.kb.path else BUNDLED_KB
    if not folder.is_dir():
        raise ConfigError(f"[kb] path: {folder.absolute()} is not a folder of articles")
    return folder


async def seed_knowledge_base(settings: Settings, db: Store, clock: Clock) -> None:
    """An empty knowledge base is seeded from `[kb] path` (or the bundled sample). After that the database
    is the source of truth: `threaddesk kb import DIR` brings file changes in, and edits made in chat are
    never overwritten by a restart."""
    async with db.reading() as uow:
        if await uow.articles.count_articles():
            return
    folder = kb_folder(settings)
    result = load_directory(folder)
    for error in result.errors:
        log.warning("knowledge base: %s", error)
    outcome = await import_articles(db, result.articles, actor="import", at=clock.now(), source=str(folder))
    log.info("knowledge base: seeded %d articles from %s", outcome.added, folder)


async def open_knowledge_base(
    settings: Settings,
    db: Store,
    clock: Clock,
    *,
    build: MatcherBuilder = Matcher,
    progress: Progress = NO_PROGRESS,
) -> KnowledgeLibrary:
    await seed_knowledge_base(settings, db, clock)
    embedder = None
    default_min = DEFAULT_MIN_SCORE
    if settings.kb.semantic:
        try:
            embedder = await asyncio.to_thread(semantic.load_embedder)
        except semantic.SemanticUnavailable as exc:
            raise ConfigError(f"[kb] semantic = true, but {exc}") from None
        default_min = semantic.SEMANTIC_MIN_SCORE
    min_score = settings.kb.min_score if settings.kb.min_score is not None else default_min
    library = KnowledgeLibrary(
        min_score=min_score, embedder=embedder, clock=clock, build=build, fit_cache=FitCache.for_user()
    )
    await library.load(db, progress=progress)
    return library


def charts_folder(settings: Settings) -> Path:
    if settings.digests.charts_dir:
        return settings.resolve(Path(settings.digests.charts_dir))
    return settings.resolve(settings.store.path).parent / "charts"


def transcripts_folder(settings: Settings) -> Path:
    if settings.transcripts.dir:
        return settings.resolve(settings.transcripts.dir)
    return settings.resolve(settings.store.path).parent / "transcripts"


def build_desk(
    settings: Settings,
    db: Store,
    *,
    kb: KnowledgeLibrary | None = None,
    clock: Clock | None = None,
    role_sources: Sequence[RoleSource] = (),
    member_sources: Sequence[GroupMembers] = (),
    name_sources: Sequence[PeopleNames] = (),
) -> Desk:
    """`role_sources`, `member_sources` and `name_sources` are what the running platforms know of people:
    roles implied by user groups and guild roles, who is in the groups and roles that `[[teams]] members`
    name, and people's names where an event gives only an id."""
    teams = TeamDirectory(settings.teams, member_sources)
    ctx = DeskContext(
        store=db,
        clock=clock or SystemClock(),
        roles=RoleDirectory(settings.roles, [*role_sources, teams]),
        intake=settings.intake,
        routing=settings.adapters,
        kb=kb or KnowledgeLibrary(),
        macros=MacroLibrary(fit_cache=kb.fit_cache if kb else None),
        suggestions=settings.kb.suggestions,
        sla=settings.sla.policy() if settings.sla.enabled else None,
        automation=settings.automation,
        charts_dir=charts_folder(settings),
        webhooks=settings.webhooks,
        transcripts=settings.transcripts,
        transcripts_dir=transcripts_folder(settings),
        desk_platforms={n: c.agents_platform for n, c in settings.adapters.items() if c.agents_platform},
        dashboard=dashboard_access(settings) if settings.web.enabled else None,
        teams=teams,
        people_names={source.platform: source for source in name_sources},
        incidents=settings.incidents.resolved(settings.kb.semantic),
        grouping_embedder=incident_embedder(settings, kb),
    )
    return Desk(ctx)


def incident_embedder(settings: Settings, kb: KnowledgeLibrary | None = None) -> Embedder | None:
    """The embedder incident grouping fuses in: `[incidents] semantic`, or unset, `[kb] semantic`. The KB's
    model when it has one, else loaded here (a `ConfigError` with the install hint when the extra is missing)."""
    if not settings.incidents.resolved(settings.kb.semantic).semantic:
        return None
    if kb is not None and kb.embedder is not None:
        return kb.embedder
    try:
        return _shared_embedder()
    except semantic.SemanticUnavailable as exc:
        raise ConfigError(f"[incidents] semantic is on, but {exc}") from None


@functools.cache
def _shared_embedder() -> Embedder:
    """One model per process, however many desks it builds (a replay builds one per stream)."""
    return semantic.load_embedder()


def dashboard_access(settings: Settings) -> DashboardAccess:
    """The dashboard's address and link-signing key: `THREADDESK_WEB_SECRET`, or a fresh key per process
    (sessions survive a restart either way; only links not yet opened stop working)."""
    secret = os.environ.get(SECRET_ENV, "").encode() or secrets.token_bytes(32)
    return DashboardAccess(public_url=settings.web.public_url, secret=secret)
