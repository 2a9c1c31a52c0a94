"""The live knowledge base: articles from the database, served by an in-memory matcher.

The matcher is rebuilt when the articles change — at once for changes this process makes, and within
`check_every` seconds (of the injected clock) for changes another process makes (`threaddesk kb import` while
the bot runs), by polling the one-row `kb_revision` counter — on PostgreSQL at the next message after the
other process's announcement (NOTIFY). So edits reach a running bot without a restart.

Refits and reloads run one at a time, off the event loop, while the bot keeps suggesting with the matcher it
has. A wording learned while a reload is being built is applied again to the rebuilt matcher, so a reload
never drops what was learned meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.ports import Clock, Store, SystemClock, UnitOfWork
from kb.article import Article
from kb.fit_cache import FitCache
from kb.matcher import DEFAULT_MIN_SCORE, Embedder, Matcher, Suggestion
from kb.progress import NO_PROGRESS, Progress

log = logging.getLogger(__name__)

MatcherBuilder = Callable[..., Matcher]
"""Builds a matcher as `Matcher(articles, min_score=…, embedder=…, fit_cache=…)` does (tests pass a memoising one)."""


class KnowledgeLibrary:
    """Implements the core's knowledge-base port over the `kb_articles` table."""

    def __init__(
        self,
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        embedder: Embedder | None = None,
        check_every: float = 2.0,
        clock: Clock | None = None,
        build: MatcherBuilder = Matcher,
        fit_cache: FitCache | None = None,
    ) -> None:
        self.min_score = min_score
        self.embedder = embedder
        self.fit_cache = fit_cache  # where fitted classifiers are kept between starts (`kb.fit_cache`)
        self.check_every = check_every
        self._clock = clock or SystemClock()
        self._build = build
        self._matcher = Matcher((), min_score=min_score, embedder=embedder)
        self._revision = -1
        self._checked_at: datetime | None = None
        self._busy = asyncio.Lock()  # one refit or reload at a time
        self._learned_while_reloading: list[tuple[str, str]] | None = None
        self._listening = False

    def __len__(self) -> int:
        return len(self._matcher)

    @property
    def articles(self) -> Sequence[Article]:
        return self._matcher.articles

    @property
    def matcher(self) -> Matcher:
        """The index serving now (immutable: a reload or a learned alias replaces it)."""
        return self._matcher

    def suggest(self, text: str, limit: int = 3) -> list[Suggestion]:
        return self._matcher.suggest(text, limit)

    def rank(self, text: str) -> list[Suggestion]:
        return self._matcher.rank(text)

    def find(self, article_id: str) -> Article | None:
        return next((a for a in self._matcher.articles if a.id == article_id), None)

    async def load(self, db: Store, *, progress: Progress = NO_PROGRESS) -> None:
        if not self._listening:
            db.on_notice("kb", self._look_now)  # another process changed the articles (PostgreSQL)
            self._listening = True
        async with db.reading() as uow:
            await self.refresh(uow, force=True, progress=progress)

    async def refresh(self, uow: UnitOfWork, *, force: bool = False, progress: Progress = NO_PROGRESS) -> None:
        """Reload when the articles changed. Cheap when they did not: one tiny query, at most every
        `check_every` seconds unless `force`. The index is built in a worker thread: at 100k articles it
        takes seconds, and the bot keeps answering meanwhile with the previous one. While one refresh
        works, another returns at once (or, when forced, waits for it and then checks again)."""
        if self._busy.locked() and not force:
            return
        async with self._busy:
            if self._matcher.needs_refit:  # enough learned aliases: fit the classifier on them too
                await self._refit()
            if force or self._poll_due():
                self._checked_at = self._clock.now()
                await self._reload_if_changed(uow, progress)

    async def refresh_before_unit(self, store: Store) -> None:
        """`refresh` for a caller about to open a unit of work (intake suggests before its unit): reads the
        revision on a reading unit, and opens one only when a check or a refit is due."""
        if self._busy.locked() or not (self._matcher.needs_refit or self._poll_due()):
            return
        async with store.reading() as uow:
            await self.refresh(uow)

    def _look_now(self) -> None:
        self._checked_at = None  # the next refresh reads the revision

    def _poll_due(self) -> bool:
        if self._checked_at is None:
            return True
        elapsed = self._clock.now() - self._checked_at
        return not timedelta(0) <= elapsed < timedelta(seconds=self.check_every)  # a clock set back: look now

    async def _refit(self) -> None:
        matcher = self._matcher
        try:
            classifier = await asyncio.to_thread(matcher.refit_text_classifier)
        except Exception:  # keep serving with the classifier we have; try again after more learning
            log.exception("knowledge base: refitting the classifier failed; keeping the current one")
            classifier = matcher.text_classifier
        # aliases learned meanwhile keep their fields; the next refit teaches them to the classifier
        self._matcher = self._matcher.with_text_classifier(classifier)

    async def _reload_if_changed(self, uow: UnitOfWork, progress: Progress = NO_PROGRESS) -> None:
        current = await uow.articles.revision()
        if current == self._revision:
            return
        found = await uow.articles.all_articles()
        started = time.perf_counter()
        self._learned_while_reloading = []
        # a progress bar only when someone shows one: a builder such as the tests' memoising one need not know it
        options: dict[str, Any] = {"min_score": self.min_score, "embedder": self.embedder, "fit_cache": self.fit_cache}
        if progress is not NO_PROGRESS:
            options["progress"] = progress
        try:
            matcher = await asyncio.to_thread(self._build, found, **options)
            for article_id, wording in self._learned_while_reloading:  # committed after `found` was read
                matcher = _learn(matcher, article_id, wording)
        finally:
            self._learned_while_reloading = None
        self._matcher = matcher
        self._revision = current
        log.info("knowledge base: %d articles indexed in %.0f ms", len(found), 1000 * (time.perf_counter() - started))

    def learned(self, article_id: str, wording: str) -> None:
        """This process just stored `wording` as a learned alias (one revision step): serve it at once
        without rebuilding the index. Changes by others since the last check still trigger a reload."""
        if self._learned_while_reloading is not None:
            self._learned_while_reloading.append((article_id, wording))
        try:
            self._matcher = self._matcher.learn(article_id, wording)
        except KeyError:  # an article this matcher has not seen yet: the next refresh loads it
            return
        self._revision += 1


def _learn(matcher: Matcher, article_id: str, wording: str) -> Matcher:
    try:
        return matcher.learn(article_id, wording)
    except KeyError:  # an article the rebuilt matcher does not have (deleted meanwhile)
        return matcher


@dataclass(frozen=True)
class ImportOutcome:
    added: int
    updated: int
    unchanged: int


async def import_articles(
    db: Store,
    found: Sequence[Article],
    *,
    actor: str,
    at: datetime,
    source: str,
    progress: Progress = NO_PROGRESS,
) -> ImportOutcome:
    """Insert new articles and new versions of changed ones, in one transaction; learned aliases stay."""
    added = updated = 0
    progress.start("Importing articles", len(found))
    async with db.transaction() as uow:
        for article in found:
            progress.advance()
            version = await uow.articles.save_article(article, actor=actor, at=at, change=f"imported from {source}")
            if version == 1:
                added += 1
            elif version is not None:
                updated += 1
    return ImportOutcome(added, updated, len(found) - added - updated)
