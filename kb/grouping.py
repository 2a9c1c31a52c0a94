"""How alike two short customer reports are: the KB matcher's BM25 + rapidfuzz, report against report.

Incident detection asks "are these three tickets about the same thing?" — the same question the KB matcher
asks of a message and an article's aliases, so the same two signals answer it:

    similarity(a, b) = fuzzy_weight × (½ token_set_ratio + ½ token_sort_ratio)
                     + (1 − fuzzy_weight) × 100 × ½ (BM25(a → b) + BM25(b → a))        (0..100)

on `kb.text`-normalised text, with Snowball-stemmed BM25 terms. BM25 needs to know which words are rare;
reports have no article collection to learn that from, so `ReportSimilarity` keeps a rolling sample of
recent reports (the traffic itself: on a card desk "card" is common, "login" is not) as its background
corpus and rebuilds a `BM25Index` over it now and then. Two messages that share only "my", "card" and
"not" then stay low, two that share "verification code" score high.

Pure and in memory: the bot feeds it texts and keeps the decisions; nothing here knows tickets.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from kb.bm25 import Bag, BM25Index
from kb.text import normalize, stem, tokens

BACKGROUND_SIZE = 2_000
"""Recent reports kept as the background corpus for word rarity."""

REBUILD_EVERY = 50
"""Reports added before the background index is rebuilt (a rebuild over 2,000 short texts is ~10 ms)."""


@dataclass(frozen=True)
class Prepared:
    """A report normalised once: its text for the fuzzy ratios and its stemmed bag for BM25."""

    text: str
    terms: tuple[str, ...]
    bag: Bag


def prepare(text: str) -> Prepared:
    normal = normalize(text)
    terms = tuple(stem(t) for t in tokens(normal))
    return Prepared(text=normal, terms=terms, bag=Bag.of(terms))


class ReportSimilarity:
    """Pairwise similarity of reports against a rolling background of recent traffic."""

    def __init__(self, *, fuzzy_weight: float = 0.5, background: Iterable[str] = ()) -> None:
        self.fuzzy_weight = fuzzy_weight
        self._recent: deque[Prepared] = deque(maxlen=BACKGROUND_SIZE)
        self._since_build = 0
        self._index: BM25Index | None = None
        for text in background:
            self._recent.append(prepare(text))
        self._rebuild()

    def observe(self, report: Prepared) -> None:
        """Add one report to the background (call once per new report, after scoring it)."""
        self._recent.append(report)
        self._since_build += 1
        if self._index is None or self._since_build >= REBUILD_EVERY or len(self._index) < REBUILD_EVERY:
            self._rebuild()

    def _rebuild(self) -> None:
        self._since_build = 0
        self._index = BM25Index([p.terms for p in self._recent]) if self._recent else None

    def _bm25(self, query: Prepared, others: Sequence[Prepared]) -> list[float]:
        if self._index is None:
            return [0.0] * len(others)
        return self._index.score_documents(query.terms, [o.bag for o in others])

    def scores(self, report: Prepared, others: Sequence[Prepared]) -> list[float]:
        """Similarity of `report` to each of `others`, 0..100."""
        if not others:
            return []
        forward = self._bm25(report, others)
        out = []
        for other, ahead in zip(others, forward, strict=True):
            back = self._bm25(other, [report])[0]
            lexical = 100.0 * (ahead + back) / 2
            fuzzy = (fuzz.token_set_ratio(report.text, other.text) + fuzz.token_sort_ratio(report.text, other.text)) / 2
            out.append(self.fuzzy_weight * fuzzy + (1 - self.fuzzy_weight) * lexical)
        return out

    def score(self, a: Prepared, b: Prepared) -> float:
        return self.scores(a, [b])[0]

    def closeness(self, report: Prepared, group: Sequence[Prepared], top: int = 3) -> float:
        """How well `report` fits a group: the mean of its best `top` similarities to the group's members
        (one lucky look-alike is not enough, as with the matcher's best three aliases)."""
        found = sorted(self.scores(report, group), reverse=True)[:top]
        return sum(found) / len(found) if found else 0.0
