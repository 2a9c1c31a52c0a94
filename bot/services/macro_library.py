"""The shared macros a running desk offers on queue cards, and the matcher that suggests one for a new ticket.

Suggestions use the knowledge base's matcher: each shared macro is a document whose phrasings are its
text, the aliases of the articles it cites (`{kb:…}`), and the subjects of tickets it was applied to. So a
macro gets better at being suggested the more agents use it. Rebuilt when shared macros or their uses
change — at once for this process (`invalidate`), within `check_every` seconds for others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from bot.domain.macros import KB_PREFIX, Macro, placeholders
from bot.ports import Store, UnitOfWork
from kb.article import Article
from kb.fit_cache import FitCache
from kb.matcher import DEFAULT_MIN_SCORE, Matcher

log = logging.getLogger(__name__)


class MacroLibrary:
    def __init__(
        self,
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        check_every: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        fit_cache: FitCache | None = None,
    ) -> None:
        self.min_score = min_score
        self.fit_cache = fit_cache
        self.check_every = check_every
        self._monotonic = monotonic
        self._shared: tuple[Macro, ...] = ()
        self._matcher = Matcher((), min_score=min_score)
        self._revision: tuple[int, int] | None = None
        self._checked_at = float("-inf")

    @property
    def shared(self) -> Sequence[Macro]:
        """Shared macros, most used first."""
        return self._shared

    def invalidate(self) -> None:
        self._checked_at = float("-inf")

    async def refresh(self, uow: UnitOfWork) -> None:
        if not self._due():
            return
        self._checked_at = self._monotonic()
        current = await uow.macros.revision()
        if current == self._revision:
            return
        found = await uow.macros.shared()
        used = await uow.macros.used_on()
        documents = [await _document(uow, m, used.get(m.name, [])) for m in found]
        self._shared = tuple(found)
        self._revision = current
        if documents:
            self._matcher = await asyncio.to_thread(
                Matcher, documents, min_score=self.min_score, fit_cache=self.fit_cache
            )
        else:
            self._matcher = Matcher((), min_score=self.min_score)

    async def refresh_before_unit(self, store: Store) -> None:
        """`refresh` for a caller about to open a unit of work: opens a reading unit only when a check is due."""
        if self._due():
            async with store.reading() as uow:
                await self.refresh(uow)

    def _due(self) -> bool:
        return self._monotonic() - self._checked_at >= self.check_every

    def suggest(self, text: str) -> Macro | None:
        """The most likely shared macro for a ticket's text, or None below the matcher's threshold."""
        if not self._shared:
            return None
        hits = self._matcher.suggest(text, 1)
        if not hits:
            return None
        return next((m for m in self._shared if m.name == hits[0].article.id), None)


async def _document(uow: UnitOfWork, macro: Macro, subjects: list[str]) -> Article:
    aliases: list[str] = []
    for name in placeholders(macro.body):
        if name.startswith(KB_PREFIX):
            cited = await uow.articles.get_article(name.removeprefix(KB_PREFIX).strip().lower())
            if cited is not None:
                aliases += [cited.title, *cited.aliases]
    text = " ".join(w for w in macro.body.replace("{", " ").replace("}", " ").split() if ":" not in w)
    return Article(
        id=macro.name,
        title=macro.name.replace("-", " ").replace("_", " "),
        aliases=tuple(dict.fromkeys(aliases)),
        learned=tuple(subjects),
        body=text,
    )
