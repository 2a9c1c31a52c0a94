"""Okapi BM25 over whole articles, with numpy postings so one query stays cheap at 100k articles.

Fuzzy ratios treat every word alike, so "my" counts as much as "refund". BM25 adds what they lack:
rare words weigh more (IDF). One document = one article (its title, aliases and learned aliases as one
bag of words): measured on the dev splits this beats BM25 per alias (see BENCHMARKS.md), because an
article whose aliases share a rare word several times collects more evidence.

Scores are normalised per query into 0..1 by the query's own IDF mass, so a query whose rare words the
KB has never seen stays low — which is what abstention needs. The same scores pick the candidate
articles that the fuzzy scorer re-ranks (`kb.matcher`).

Memory: postings live in three flat arrays (CSR by term), built from `array` buffers rather than
Python tuples, so 100k articles × 20 aliases fit in tens of megabytes. A small index (terms × documents
up to `DENSE_CELLS`) also keeps every term's contributions as a dense row: a query is then one gather
and one sum instead of a numpy call per query term, which on the 18-article sample KB was the largest
share of a suggestion's CPU. Both add the same float32 contributions in the same order.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

DENSE_CELLS = 1 << 21
"""Indexes with at most this many terms × documents also keep a dense float32 matrix (≤ 8 MiB)."""


@dataclass(frozen=True)
class Bag:
    """A document as term counts and length."""

    counts: Mapping[str, int]
    length: int

    @classmethod
    def of(cls, terms: Sequence[str]) -> Bag:
        return cls(Counter(terms), len(terms))


class BM25Index:
    """Okapi BM25 (Lucene's non-negative IDF) over documents given as term lists."""

    def __init__(self, documents: Iterable[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        vocab: dict[str, int] = {}
        term_ids, tfs, counts = array("i"), array("f"), array("i")
        for doc in documents:
            bag = Counter(doc)
            counts.append(len(bag))
            for term, tf in bag.items():
                term_ids.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        self._vocab = vocab
        self._n = len(counts)
        per_doc = np.frombuffer(counts, dtype=np.int32) if counts else np.zeros(0, np.int32)
        terms = np.frombuffer(term_ids, dtype=np.int32) if term_ids else np.zeros(0, np.int32)
        weights = np.array(tfs, dtype=np.float32) if tfs else np.zeros(0, np.float32)
        del tfs
        # Document length = total term count; postings are still in document order here, so each
        # posting's document is implied by `per_doc`, and every array below is built in place.
        doc_of = np.repeat(np.arange(self._n, dtype=np.int32), per_doc)
        length = np.bincount(doc_of, weights=weights, minlength=self._n).astype(np.float32)
        self.average_length = float(length.mean()) if self._n else 0.0
        norm = self._norm(length)[doc_of]
        norm += weights
        np.multiply(weights, np.float32(k1 + 1), out=weights)
        np.divide(weights, norm, out=weights)
        del norm
        order = np.argsort(terms, kind="stable")
        self._docs = doc_of[order]
        del doc_of
        self._weights = weights[order]
        del weights, order
        self._offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(vocab)), out=self._offsets[1:])
        del terms, term_ids
        df = np.diff(self._offsets).astype(np.float64)
        self._idf = np.log(1 + (self._n - df + 0.5) / (df + 0.5))
        self._idf_values: list[float] = self._idf.tolist()
        self._unseen_idf = math.log(1 + (self._n + 0.5) / 0.5)
        self._dense: FloatArray | None = None  # term -> its contribution to every document's score
        if len(vocab) * self._n <= DENSE_CELLS:
            term_of = np.repeat(np.arange(len(vocab)), np.diff(self._offsets))
            dense = np.zeros((len(vocab), self._n), dtype=np.float32)
            dense[term_of, self._docs] = self._idf.astype(np.float32)[term_of] * self._weights
            self._dense = dense

    def __len__(self) -> int:
        return self._n

    def _norm(self, length: FloatArray) -> FloatArray:
        average = self.average_length or 1.0
        return (self.k1 * (1 - self.b + self.b * length / average)).astype(np.float32)

    def idf(self, term: str) -> float:
        index = self._vocab.get(term)
        if index is not None:
            return self._idf_values[index]
        return self._unseen_idf  # never seen: the rarest possible word

    def query_mass(self, query: Sequence[str]) -> float:
        """The sum of IDF over the distinct query terms: what a perfect document would score."""
        return sum(self.idf(term) for term in set(query))

    def scores(self, query: Sequence[str]) -> FloatArray:
        """Raw BM25 score of every document for `query` (each distinct query term counted once)."""
        return self._scores([index for index in map(self._vocab.get, set(query)) if index is not None])

    def _scores(self, indices: list[int]) -> FloatArray:
        """Raw BM25 scores for the vocabulary `indices` of the distinct query terms, added in that order."""
        if self._dense is not None:
            if not indices:
                return np.zeros(self._n, dtype=np.float32)
            summed: FloatArray = self._dense[indices].sum(axis=0)
            return summed
        out = np.zeros(self._n, dtype=np.float32)
        for index in indices:
            start, end = self._offsets[index], self._offsets[index + 1]
            out[self._docs[start:end]] += np.float32(self._idf[index]) * self._weights[start:end]
        return out

    def normalised_scores(self, query: Sequence[str]) -> FloatArray:
        """Scores divided by the query's IDF mass and capped at 1.

        A document containing every query term once, at average length, scores about 1; words the KB
        has never seen have the highest IDF, so they pull every document down.
        """
        indices: list[int] = []
        idfs: list[float] = []
        for index in map(self._vocab.get, set(query)):  # one set, so mass and scores see the same order
            if index is None:
                idfs.append(self._unseen_idf)
            else:
                indices.append(index)
                idfs.append(self._idf_values[index])
        mass = sum(idfs)
        if mass <= 0:
            return np.zeros(self._n, dtype=np.float32)
        capped: FloatArray = np.minimum(self._scores(indices) / np.float32(mass), np.float32(1.0))
        return capped

    def score_document(self, query: Sequence[str], document: Sequence[str] | Bag) -> float:
        """The normalised score of a document that is not in the index, with this index's IDF and length.

        Used for articles changed after the build (a learned alias), so one new alias never forces a
        rebuild of a 100k-article index; IDF drifts a little until the next rebuild, which is harmless.
        """
        return self.score_documents(query, [document if isinstance(document, Bag) else Bag.of(document)])[0]

    def score_documents(self, query: Sequence[str], bags: Sequence[Bag]) -> list[float]:
        """`score_document` for many documents, looking up the query's IDF once (a query against every
        changed article of a small KB, each query)."""
        weights = {term: self.idf(term) for term in set(query)}
        mass = sum(weights.values())
        if mass <= 0:
            return [0.0] * len(bags)
        lift = self.k1 + 1
        average = self.average_length or 1.0
        out = []
        for bag in bags:
            norm = self.k1 * (1 - self.b + self.b * bag.length / average)
            counts = bag.counts
            total = 0.0
            for term, idf in weights.items():
                tf = counts.get(term, 0)
                if tf:
                    total += idf * tf * lift / (tf + norm)
            out.append(min(1.0, total / mass))
        return out
