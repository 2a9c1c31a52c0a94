"""Build the core from settings. The CLI (the composition root) adds the adapters on top."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import kb as kb_package
from bot.config import ConfigError, Settings
from bot.ports import Clock, KnowledgeBase, RoleSource, SystemClock
from bot.services.context import DeskContext, RoleDirectory
from bot.services.desk import Desk
from bot.store.db import Database
from kb.loader import load_directory
from kb.matcher import DEFAULT_MIN_SCORE, Matcher

log = logging.getLogger(__name__)

BUNDLED_KB = Path(kb_package.__file__).resolve().parent / "sample"


def load_knowledge_base(settings: Settings) -> Matcher:
    """Load `[kb] path`. Bad articles are logged with file and line; the rest are served."""
    folder = settings.resolve(settings.kb.path) if settings.kb.path else BUNDLED_KB
    if not folder.is_dir():
        raise ConfigError(f"[kb] path: {folder} is not a folder of articles")
    result = load_directory(folder)
    for error in result.errors:
        log.warning("knowledge base: %s", error)
    min_score = settings.kb.min_score if settings.kb.min_score is not None else DEFAULT_MIN_SCORE
    log.info("knowledge base: %d articles from %s", len(result.articles), folder)
    return Matcher(result.articles, min_score=min_score)


def charts_folder(settings: Settings) -> Path:
    if settings.digests.charts_dir:
        return settings.resolve(Path(settings.digests.charts_dir))
    return settings.resolve(settings.store.path).parent / "charts"


def build_desk(
    settings: Settings,
    db: Database,
    *,
    kb: KnowledgeBase | None = None,
    clock: Clock | None = None,
    role_sources: Sequence[RoleSource] = (),
) -> Desk:
    ctx = DeskContext(
        db=db,
        clock=clock or SystemClock(),
        roles=RoleDirectory(settings.roles, role_sources),
        intake=settings.intake,
        routing=settings.adapters,
        kb=kb,
        suggestions=settings.kb.suggestions,
        sla=settings.sla.policy() if settings.sla.enabled else None,
        automation=settings.automation,
        charts_dir=charts_folder(settings),
    )
    return Desk(ctx)
