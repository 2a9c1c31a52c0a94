"""A small Okapi BM25 index over short documents (one document = one alias or title).

Fuzzy ratios treat every word alike, so "my" counts as much as "refund". BM25 adds what they lack:
rare words weigh more (IDF). Scores are normalised per query into 0..1 by the query's own IDF mass,
so a query whose rare words the KB has never seen stays low — which is what abstention needs.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence


class BM25Index:
    """Okapi BM25 (Lucene's non-negative IDF) with an inverted index; pure Python."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self._k1 = k1
        self._n = len(documents)
        lengths = [len(doc) for doc in documents]
        average = (sum(lengths) / self._n) if self._n else 0.0
        # postings: term -> [(document, weight without IDF)], computed once at build time
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, doc in enumerate(documents):
            norm = k1 * (1 - b + b * (lengths[index] / average if average else 0.0))
            for term, tf in Counter(doc).items():
                self._postings[term].append((index, tf * (k1 + 1) / (tf + norm)))

    def __len__(self) -> int:
        return self._n

    def idf(self, term: str) -> float:
        df = len(self._postings.get(term, ()))
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def scores(self, query: Sequence[str]) -> list[float]:
        """Raw BM25 score of every document for `query` (each distinct query term counted once)."""
        out = [0.0] * self._n
        for term in set(query):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            for index, weight in postings:
                out[index] += idf * weight
        return out

    def normalised_scores(self, query: Sequence[str]) -> list[float]:
        """Scores divided by the query's IDF mass and capped at 1.

        A document containing every query term once, at average length, scores 1; words the KB has
        never seen have the highest IDF, so they pull every document down.
        """
        mass = sum(self.idf(term) for term in set(query))
        if mass <= 0:
            return [0.0] * self._n
        return [min(1.0, score / mass) for score in self.scores(query)]
