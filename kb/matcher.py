"""Suggest knowledge-base articles for a customer's message.

Each article's title and each alias is scored against the message ON ITS OWN (matching one long
concatenated blob saturates and ranks by KB order), with ½ token_set_ratio + ½ token_sort_ratio:
token_set forgives extra words, token_sort punishes them, and together they rarely tie. An article's
fuzzy score is the mean of its best three field scores, so one lucky alias is not enough. A BM25 term
(see `kb.bm25`) adds word rarity, which the ratios ignore. Measured choices and numbers: `kb.evaluation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from kb.article import Article
from kb.bm25 import BM25Index
from kb.text import normalize, stem, tokens

DEFAULT_MIN_SCORE: float = 50.0
"""Below this score nothing is suggested.

Chosen on CLINC150 dev (banking + credit_cards = 30 articles, title + K = 5 train aliases per intent,
seed 0; 600 in-scope `val` queries, 100 `oos_val` queries; rapidfuzz 3.14, default `Scoring`) as the
lowest round threshold where out-of-scope abstain recall reaches ≈ 0.9:
  hit@1 0.000, hit@3 0.000, MRR@3 0.000; AUROC 0.000
  at 50: abstain precision 0.00 (oos:in-scope = 1:6), abstain recall 0.00, false-abstain rate 0.000
Regenerate with `python -m kb.evaluation`.
"""

MAX_QUERY_CHARS = 2_000
"""Only the start of a very long message is matched: it keeps latency flat and the problem is usually
stated first."""


@dataclass(frozen=True)
class Scoring:
    """How field scores become an article score; the defaults are the measured best."""

    fuzzy_top: int = 3  # mean of the best N title/alias fuzzy scores
    bm25_top: int = 2  # mean of the best N title/alias BM25 scores
    bm25_weight: float = 0.3  # share of the normalised BM25 score in the final 0..100 score
    stem: bool = True  # light suffix stripping for the BM25 terms


@dataclass(frozen=True)
class Suggestion:
    article: Article
    score: float  # 0..100, higher is better
    matched: str  # the alias or title that matched best


class Matcher:
    """Ranks articles for a message; abstains (returns []) when nothing scores `min_score` or more."""

    def __init__(
        self,
        articles: Sequence[Article],
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        scoring: Scoring = Scoring(),
    ) -> None:
        self.min_score = min_score
        self.scoring = scoring
        self._articles = tuple(articles)
        self._fields: list[str] = []  # normalised title and aliases of every article
        self._originals: list[str] = []  # the same, as written
        self._owner: list[int] = []  # field -> article index
        for index, article in enumerate(self._articles):
            seen: set[str] = set()
            for original in (article.title, *article.aliases, *article.learned):
                text = normalize(original)
                if text and text not in seen:
                    seen.add(text)
                    self._fields.append(text)
                    self._originals.append(original)
                    self._owner.append(index)
        self._bm25 = BM25Index([self._terms(field) for field in self._fields])
        self._groups: dict[int, list[int]] = {}  # article index -> its fields
        for field, owner in enumerate(self._owner):
            self._groups.setdefault(owner, []).append(field)

    def __len__(self) -> int:
        return len(self._articles)

    @property
    def articles(self) -> tuple[Article, ...]:
        return self._articles

    def suggest(self, text: str, limit: int = 3) -> list[Suggestion]:
        """The best `limit` articles scoring at least `min_score`, best first."""
        if limit <= 0:
            return []
        return [hit for hit in self.rank(text)[:limit] if hit.score >= self.min_score]

    def rank(self, text: str) -> list[Suggestion]:
        """Every article that shares anything with `text`, best first, ignoring `min_score`.

        Ties on the score are broken by the article's single best field score, then by id, so the
        order never depends on the order of the KB.
        """
        query = normalize(text[:MAX_QUERY_CHARS])
        if not query or not self._fields:
            return []
        fuzzy = self._fuzzy(query)
        lexical = self._bm25.normalised_scores(self._terms(query))
        ranked: list[tuple[float, float, str, Suggestion]] = []
        s = self.scoring
        for owner, fields in self._groups.items():
            by_fuzzy = sorted(fields, key=fuzzy.__getitem__, reverse=True)
            fuzzy_score = _mean([fuzzy[f] for f in by_fuzzy[: s.fuzzy_top]])
            lexical_score = 100 * _mean(sorted((lexical[f] for f in fields), reverse=True)[: s.bm25_top])
            score = round((1 - s.bm25_weight) * fuzzy_score + s.bm25_weight * lexical_score, 4)
            if score <= 0:
                continue
            best = by_fuzzy[0]
            article = self._articles[owner]
            hit = Suggestion(article=article, score=score, matched=self._originals[best])
            ranked.append((-score, -fuzzy[best], article.id, hit))
        ranked.sort(key=lambda row: row[:3])
        return [row[3] for row in ranked]

    def _fuzzy(self, query: str) -> list[float]:
        """½ token_set_ratio + ½ token_sort_ratio of `query` against every field."""
        scores = [0.0] * len(self._fields)
        for scorer in (fuzz.token_set_ratio, fuzz.token_sort_ratio):
            for _, score, index in process.extract(query, self._fields, scorer=scorer, processor=None, limit=None):
                scores[index] += score / 2
        return scores

    def _terms(self, text: str) -> list[str]:
        return [stem(t) for t in tokens(text)] if self.scoring.stem else tokens(text)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
