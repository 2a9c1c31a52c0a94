"""How alike two short customer reports are: the KB matcher's BM25 + rapidfuzz, report against report.

Incident detection asks "are these three tickets about the same thing?" — the same question the KB matcher
asks of a message and an article's aliases, so the same two signals answer it:

    similarity(a, b) = fuzzy_weight × (½ token_set_ratio + ½ token_sort_ratio)
                     + (1 − fuzzy_weight) × 100 × ½ (BM25(a → b) + BM25(b → a))        (0..100)

on `kb.text`-normalised text, with Snowball-stemmed BM25 terms. BM25 needs to know which words are rare;
reports have no article collection to learn that from, so `ReportSimilarity` keeps a rolling sample of
recent reports (the traffic itself: on a card desk "card" is common, "login" is not) as its background
corpus and re-reads word rarity from it every `REBUILD_EVERY` reports. Two messages that share only "my",
"card" and "not" then stay low, two that share "verification code" score high.

Raw similarity means different things on different desks: on a card desk every report shares "card", so
two unrelated ones score as high as two reports of one outage do elsewhere. So decisions use the *lift*:
similarity above each report's own noise level (its 95th-percentile similarity to a sample of recent
traffic), which keeps one threshold meaningful across desks (BENCHMARKS.md, "Incident grouping").

**Only as exact as the decision needs.** Detection asks one question of each pair: does its lift reach the
threshold? Computed exactly that costs ~200 similarities a ticket (~100 for the new report's noise level,
one per candidate): ~10 ms. `lifts_above` answers it from bounds, for all candidates at once:

- an upper bound of each similarity: BM25 both ways from flat arrays (one gather and one segmented sum
  over the reports' distinct stems), token_sort exactly from one `rapidfuzz.process.cdist` over the
  pre-sorted words, token_set ≤ 100 (or, with no word shared, from lengths or token_sort itself);
- the new report's noise level as an interval: the same sums against the sample, token_set bounded from
  the lengths of the shared and unshared words and the Indel distance of the distinct-word strings
  (rapidfuzz's own formula), the 5th largest lower and upper bound;
- lift ≤ upper bound − the larger of the two noise floors: below the threshold, the pair is settled. The
  few pairs left are scored exactly; a noise level is made exact only when a pair's answer depends on it
  — the 5th largest exact similarity, computed for the sample members whose bounds can reach it — against
  the sample and word rarity of the moment it was first asked for (kept for `EXACT_LATER` reports).

So every value `lifts_above` returns is on the same side of the threshold as the exact lift; `lifts`,
`scores`, `noise` and `closeness` stay exact, with the same floating-point operations as before (word
rarity is kept as document frequencies updated report by report instead of a `BM25Index` rebuilt over
2,000 reports — the same numbers: tests/kb/test_grouping.py checks all of it against the plain
computation).

Pure and in memory: the bot feeds it texts and keeps the decisions; nothing here knows tickets.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from kb.bm25 import Bag
from kb.text import normalize, stem, tokens

if TYPE_CHECKING:
    from kb.matcher import Embedder

FloatArray = npt.NDArray[np.float64]

BACKGROUND_SIZE = 2_000
"""Recent reports kept as the background corpus for word rarity."""

REBUILD_EVERY = 50
"""Reports added before word rarity is read again from the background."""

NOISE_SAMPLE = 100
"""Background reports a report is compared with to learn its own noise level (`ReportSimilarity.noise`)."""

NOISE_QUANTILE = 0.95
"""A report's noise level: this quantile of its similarity to the background sample."""

DEFAULT_NOISE = 35.0
"""The noise level assumed until `NOISE_SAMPLE` reports make a background (a new desk, a test): the
median noise level measured on the CLINC150 and BANKING77 training traffic (32 and 37)."""

WINDOW = 120
"""Recent reports put in an epoch's arrays when it starts (candidates are the latest reports of a window;
others are added when first asked about)."""

EXACT_LATER = 4_096
"""Reports whose noise level, while known only as an interval, can still be made exact as of the moment it
was first asked for (each keeps that moment's sample and its own words' rarity, ~1 KB). One older than that
which turns out to need it is measured against the current sample instead: the same computation on a later
background. With candidates drawn from the latest reports of a 15-minute window, that does not happen."""

K1 = 1.2
B = 0.75
"""BM25's parameters: `kb.bm25.BM25Index`'s defaults."""

_LIFT = K1 + 1  # written as BM25Index writes it (k1 + 1), so that every product rounds the same way
_MARGIN = 1e-9
"""Bounds are sums taken in another order than the exact ones (rounding ~1e-13): widened by this."""

_TINY = 1e-300  # the weight of a report's first, empty row: no document then has a mass of 0

SEMANTIC_WEIGHT = 0.7
"""With an embedder: the share of the embedding similarity in the fused score (fixed on the training streams,
BENCHMARKS.md "Incident grouping")."""

_SEMANTIC_MARGIN = 1e-3
"""Bounds' widening with an embedder: a text's vector is encoded once and reused, but one encoded again
(after the cache was emptied, in another batch) may differ in the 7th digit."""

VECTOR_CACHE = 20_000
"""Texts whose embedding is kept (emptied when full; the noise sample and the window are encoded again)."""


class _Vectors:
    """Unit sentence vectors of report texts, each text encoded once (misses in one batch)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._known: dict[str, FloatArray] = {}

    def of(self, reports: Sequence[Prepared]) -> FloatArray:
        missing = list(dict.fromkeys(r.text for r in reports if r.text not in self._known))
        if missing:
            if len(self._known) + len(missing) > VECTOR_CACHE:
                self._known.clear()
                missing = list(dict.fromkeys(r.text for r in reports))
            encoded = np.asarray(self._embedder.encode(missing), dtype=np.float64)
            self._known.update(zip(missing, encoded, strict=True))
        return np.array([self._known[r.text] for r in reports])

    def similarity(self, a: Prepared, b: Prepared) -> float:
        """100 × the cosine of the two texts' vectors, negatives as 0 (0..100, as the lexical score)."""
        found = self.of([a, b])
        return 100.0 * min(1.0, max(0.0, float(found[0] @ found[1])))


def _fuse(lexical: float, semantic: float, weight: float) -> float:
    return (1 - weight) * lexical + weight * semantic


@dataclass(frozen=True)
class Prepared:
    """A report normalised once: its text for the fuzzy ratios, its stemmed bag for BM25, and its words
    sorted (token_sort_ratio is rapidfuzz's `ratio` of two such strings), distinct and sorted, and as a set
    (token_set_ratio's view)."""

    text: str
    terms: tuple[str, ...]
    bag: Bag
    sorted_text: str
    unique_text: str
    words: frozenset[str]


def prepare(text: str) -> Prepared:
    normal = normalize(text)
    words = tokens(normal)
    terms = tuple(stem(t) for t in words)
    distinct = frozenset(words)
    return Prepared(
        text=normal,
        terms=terms,
        bag=Bag.of(terms),
        sorted_text=" ".join(sorted(words)),
        unique_text=" ".join(sorted(distinct)),
        words=distinct,
    )


Weights = tuple[dict[str, float], float]
"""A text as a BM25 query: the IDF of each distinct term (in `set(terms)` order) and their sum."""


class _Rarity:
    """Word rarity of the background at one rebuild: exactly the IDF, unseen-word IDF and average length a
    `BM25Index` over the same documents holds (the same numpy and float operations), from document
    frequencies kept up to date report by report — grouping needs these, not the index's postings."""

    __slots__ = ("_by_df", "_df", "average", "n", "unseen")

    def __init__(self, df: Counter[str], lengths: Iterable[int], n: int) -> None:
        self.n = n
        self._df = dict(df)
        frequencies = np.arange(n + 1, dtype=np.float64)
        self._by_df: list[float] = np.log(1 + (n - frequencies + 0.5) / (frequencies + 0.5)).tolist()
        self.unseen = math.log(1 + (n + 0.5) / 0.5)
        found = np.fromiter(lengths, dtype=np.float32, count=n)
        average = float(found.mean()) if n else 0.0
        self.average = average or 1.0  # as `BM25Index.score_documents` reads it

    def idf(self, term: str) -> float:
        df = self._df.get(term)
        return self.unseen if df is None else self._by_df[df]

    def weights(self, terms: Sequence[str]) -> Weights:
        found = {term: self.idf(term) for term in set(terms)}
        return found, sum(found.values())


def _bm25(query: Weights, bag: Bag, average: float) -> float:
    """`BM25Index.score_document`: the query's normalised BM25 score of `bag`, same operations, same order."""
    weights, mass = query
    if mass <= 0:
        return 0.0
    norm = K1 * (1 - B + B * bag.length / average)
    counts = bag.counts
    total = 0.0
    for term, idf in weights.items():
        tf = counts.get(term, 0)
        if tf:
            total += idf * tf * _LIFT / (tf + norm)
    return min(1.0, total / mass)


def _score(
    a: Prepared, a_weights: Weights, b: Prepared, b_weights: Weights, average: float, indexed: bool, fuzzy_weight: float
) -> float:
    """The similarity of `a` to `b`, exactly as `ReportSimilarity.scores` has always computed it
    (token_sort_ratio is `ratio` of the sorted words: the same function of the same two strings)."""
    fuzzy = (fuzz.token_set_ratio(a.text, b.text) + fuzz.ratio(a.sorted_text, b.sorted_text)) / 2
    if not indexed:  # nothing seen yet to tell rare words from common ones
        return fuzzy
    ahead = _bm25(a_weights, b.bag, average)
    back = _bm25(b_weights, a.bag, average)
    lexical = 100.0 * (ahead + back) / 2
    return fuzzy_weight * fuzzy + (1 - fuzzy_weight) * lexical


class _Sample:
    """What noise levels are measured against at one rebuild: the sample, each member as a BM25 query."""

    __slots__ = ("average", "docs", "indexed", "weights")

    def __init__(self, docs: list[Prepared], rarity: _Rarity) -> None:
        self.docs = docs
        self.weights = [rarity.weights(d.terms) for d in docs]
        self.average = rarity.average
        self.indexed = rarity.n > 0


class _Level:
    """A report's noise level: exact, or an interval plus what it takes to make it exact later."""

    __slots__ = ("exact", "high", "highs", "low", "rank", "report", "sample", "weights")

    def __init__(self, low: float, high: float, exact: float | None = None) -> None:
        self.low = low
        self.high = high
        self.exact = exact
        self.report: Prepared | None = None
        self.weights: Weights | None = None  # the report's words' rarity at that moment
        self.sample: _Sample | None = None  # the sample at that moment
        self.highs: FloatArray | None = None  # upper bounds of the similarity to each member (−∞: itself)
        self.rank = 0  # the noise level is the rank-th largest similarity to the sample

    def forget_moment(self) -> None:
        self.weights = self.sample = self.highs = None

    def settle(self, value: float) -> float:
        self.exact = self.low = self.high = value
        self.report = None
        self.forget_moment()
        return value


_DEFAULT_LEVEL = _Level(DEFAULT_NOISE, DEFAULT_NOISE, DEFAULT_NOISE)


class _Rows:
    """A report as rows for sums against a query without per-report Python, in ids shared by every epoch:
    a first row (id 0, which no query fills), one per distinct stem, a second id-0 row, one per distinct word
    — so that both runs are never empty, and one segmented sum over [first, second) and [second, next
    report) gives each report's stem and word sums. Columns: tf·(k1 + 1), tf + k1·(1 − b), the report's
    length in terms (so that BM25's document weight is the first over the second plus k1·b·length/average),
    and word length + 1 (to measure shared words)."""

    __slots__ = ("ids", "length", "split", "values")

    def __init__(self, report: Prepared, vocabulary: _Vocabulary) -> None:
        size = float(report.bag.length)
        base = K1 * (1 - B)
        ids = [0]
        values = [(0.0, 1.0, 0.0, 0.0)]
        for term, tf in report.bag.counts.items():
            ids.append(vocabulary.stem(term))
            values.append((tf * _LIFT, tf + base, size, 0.0))
        self.split = len(ids)
        ids.append(0)
        values.append((0.0, 1.0, 0.0, 0.0))
        for word in report.words:
            ids.append(vocabulary.word(word))
            values.append((0.0, 1.0, 0.0, len(word) + 1.0))
        self.ids = np.array(ids, dtype=np.intp)
        self.values = np.array(values)
        self.length = float(len(report.unique_text))


class _Vocabulary:
    """Ids for stems and words (shared by every epoch), the background's document frequency by id, and each
    recent text's rows."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}  # a word's key is " " + the word, a stem's the stem
        self.df = np.zeros(4096)
        self.is_word = np.zeros(4096, dtype=bool)
        self.rows: dict[str, _Rows] = {}
        self._query = (np.zeros(4096), np.zeros(4096))

    def __len__(self) -> int:
        return len(self.ids) + 1  # id 0 is every report's head row

    def query(self) -> tuple[FloatArray, FloatArray]:
        """Two zero vectors over the ids, for a query's terms both ways (zero them after use)."""
        if len(self) > len(self._query[0]):
            self._query = (np.zeros(2 * len(self)), np.zeros(2 * len(self)))
        return self._query

    def _new(self, key: str, word: bool) -> int:
        found = self.ids[key] = len(self.ids) + 1
        if found >= len(self.df):
            self.df = np.concatenate([self.df, np.zeros(len(self.df))])
            self.is_word = np.concatenate([self.is_word, np.zeros(len(self.is_word), dtype=bool)])
        self.is_word[found] = word
        return found

    def stem(self, term: str) -> int:
        found = self.ids.get(term)
        return found if found is not None else self._new(term, False)

    def word(self, word: str) -> int:
        key = " " + word
        found = self.ids.get(key)
        return found if found is not None else self._new(key, True)

    def count(self, report: Prepared, step: int) -> None:
        for term in report.bag.counts:
            self.df[self.stem(term)] += step

    def rows_of(self, report: Prepared) -> _Rows:
        found = self.rows.get(report.text)
        if found is None:
            if len(self.rows) > 10_000:
                self.rows.clear()
            found = self.rows[report.text] = _Rows(report, self)
        return found


class _Growing:
    """A numpy array appended to in place, its capacity doubling: `view` is what was appended."""

    __slots__ = ("_data", "size")

    def __init__(self, dtype: type, width: int = 0) -> None:
        self._data: npt.NDArray[np.generic] = np.zeros((256, width) if width else 256, dtype=dtype)
        self.size = 0

    def extend(self, values: npt.ArrayLike, count: int) -> None:
        """Append `count` rows (an array of them, or one value for all)."""
        end = self.size + count
        if end > len(self._data):
            bigger = np.zeros((2 * end, *self._data.shape[1:]), dtype=self._data.dtype)
            bigger[: self.size] = self._data[: self.size]
            self._data = bigger
        self._data[self.size : end] = values
        self.size = end

    @property
    def view(self) -> npt.NDArray[Any]:
        return self._data[: self.size]


class _Epoch:
    """Everything measured with one rebuild's word rarity: exact BM25 queries per text, and for bounds the
    IDF by id and a window of reports as arrays — the sample's members first, then recent reports and any
    other report asked about during the epoch — with each query's sums against all of them at once."""

    def __init__(
        self,
        rarity: _Rarity,
        sample: _Sample,
        vocabulary: _Vocabulary,
        fuzzy_weight: float,
        recent: Sequence[Prepared],
        vectors: _Vectors | None = None,
        semantic_weight: float = 0.0,
    ) -> None:
        self.rarity = rarity
        self.sample = sample
        self.vocabulary = vocabulary
        self.fuzzy_weight = fuzzy_weight
        self.vectors = vectors
        self.semantic_weight = semantic_weight if vectors is not None else 0.0
        self._vectors: _Growing | None = None  # the window's unit vectors, row by row
        self.weight = fuzzy_weight if sample.indexed else 1.0  # of the fuzzy half, in bounds
        self._weights: dict[str, Weights] = {}
        n = len(vocabulary)
        df = vocabulary.df[:n]
        idf = np.full(n, rarity.unseen)
        seen = df > 0.5
        idf[seen] = np.log(1 + (rarity.n - df[seen] + 0.5) / (df[seen] + 0.5))
        idf[vocabulary.is_word[:n]] = 0.0
        idf[0] = _TINY
        self._idf = idf
        # the window: rows (id; BM25 weight as a document term for a stem, length + 1 for a word), and per
        # report where its stems and its words start, its distinct words' length, its BM25 mass, its texts,
        # its noise floor when known
        self._ids = _Growing(np.intp)
        self._coef = _Growing(np.float64)
        self._starts = _Growing(np.intp)  # two per report
        self._docs = _Growing(np.float64, 3)  # distinct-word length, BM25 mass, noise floor
        self._sorted = _Growing(np.object_)
        self._unique = _Growing(np.object_)
        self._index: dict[str, int] = {}
        self._index_of: list[str] = []  # the text of each report of the window
        self._sums: tuple[str, int, FloatArray, FloatArray] | None = None
        self.sample_size = len(sample.docs)
        self.sample_rows: dict[str, list[int]] = {}
        for i, doc in enumerate(sample.docs):
            self.sample_rows.setdefault(doc.text, []).append(i)
        self._add(list(sample.docs), duplicates=True)
        self.indices(recent)

    # -- exact

    def weights(self, report: Prepared) -> Weights:
        found = self._weights.get(report.text)
        if found is None:
            if len(self._weights) > 20_000:
                self._weights.clear()
            found = self._weights[report.text] = self.rarity.weights(report.terms)
        return found

    def score(self, a: Prepared, b: Prepared) -> float:
        lexical = _score(
            a, self.weights(a), b, self.weights(b), self.rarity.average, self.sample.indexed, self.fuzzy_weight
        )
        if self.vectors is None:
            return lexical
        return _fuse(lexical, self.vectors.similarity(a, b), self.semantic_weight)

    def _fused(self, lexical: FloatArray, report: Prepared, at: npt.NDArray[np.intp], margin: float) -> FloatArray:
        """Bounds of the lexical score at `at` as bounds of the fused score (`margin`: −1 low, +1 high)."""
        if self.vectors is None or self._vectors is None:
            return lexical
        cosine = self._vectors.view[at] @ self.vectors.of([report])[0]
        np.clip(cosine, 0.0, 1.0, out=cosine)
        weight = self.semantic_weight
        fused: FloatArray = (1 - weight) * lexical + (100.0 * weight) * cosine + margin * _SEMANTIC_MARGIN
        return fused

    # -- the window

    def _idf_by_id(self) -> FloatArray:
        n = len(self.vocabulary)
        if n > len(self._idf):  # stems and words first seen since the rebuild: unseen, or not stems
            more = np.where(self.vocabulary.is_word[len(self._idf) : n], 0.0, self.rarity.unseen)
            self._idf = np.concatenate([self._idf, more])
        return self._idf

    def _add(self, reports: list[Prepared], *, duplicates: bool = False) -> None:
        """Append reports to the window (each text once, unless `duplicates`: the sample keeps its rows)."""
        if not duplicates:
            reports = [r for r in {r.text: r for r in reports}.values() if r.text not in self._index]
        if not reports:
            return
        first = len(self._index_of)
        rows = [self.vocabulary.rows_of(r) for r in reports]
        if len(rows) == 1:
            ids, values = rows[0].ids, rows[0].values
            starts = np.array([0, rows[0].split], dtype=np.intp)
        else:
            ids = np.concatenate([r.ids for r in rows])
            values = np.concatenate([r.values for r in rows])
            firsts = np.cumsum([0] + [len(r.ids) for r in rows[:-1]])
            starts = np.empty(2 * len(rows), dtype=np.intp)
            starts[0::2] = firsts
            starts[1::2] = firsts + [r.split for r in rows]
        coef = values[:, 2] * (K1 * B / self.rarity.average)
        coef += values[:, 1]
        np.divide(values[:, 0], coef, out=coef)  # tf·(k1+1) / (tf + k1·(1 − b + b·length/average))
        coef += values[:, 3]
        docs = np.empty((len(rows), 3))
        docs[:, 0] = [r.length for r in rows]
        idf = np.take(self._idf_by_id(), ids)
        docs[:, 1] = np.add.reduceat(idf, starts)[0::2] if len(rows) > 1 else idf.sum()
        docs[:, 2] = np.nan
        size, count = len(ids), len(rows)
        self._starts.extend(starts + self._ids.size, 2 * count)
        self._ids.extend(ids, size)
        self._coef.extend(coef, size)
        self._docs.extend(docs, count)
        self._sorted.extend([r.sorted_text for r in reports], count)
        self._unique.extend([r.unique_text for r in reports], count)
        if self.vectors is not None:
            vectors = self.vectors.of(reports)
            if self._vectors is None:
                self._vectors = _Growing(np.float64, vectors.shape[1])
            self._vectors.extend(vectors, count)
        self._index_of += [r.text for r in reports]
        for i, report in enumerate(reports, start=first):
            self._index.setdefault(report.text, i)

    def set_floors(self, levels: dict[str, _Level]) -> None:
        """The noise floors of the window's reports that have a noise level."""
        known = [levels.get(text) for text in self._index_of]
        self._docs.view[:, 2] = [level.low if level is not None else np.nan for level in known]

    def set_floor(self, report: Prepared, low: float) -> None:
        self.set_floor_of(report.text, low)

    def set_floor_of(self, text: str, low: float) -> None:
        found = self._index.get(text)
        if found is not None:
            self._docs.view[found, 2] = low

    def floors(self, at: npt.NDArray[np.intp]) -> FloatArray:
        """The noise floors of the reports at `at` (NaN: not measured yet)."""
        found: FloatArray = self._docs.view[at, 2]
        return found

    def indices(self, reports: Sequence[Prepared]) -> list[int]:
        """Where `reports` are in the window (added if they are not)."""
        index = self._index
        found = [index.get(r.text) for r in reports]
        if None in found:
            missing = [i for i, at in enumerate(found) if at is None]
            self._add([reports[i] for i in missing])
            for i in missing:
                found[i] = index[reports[i].text]
        return found  # type: ignore[return-value]

    def _sum(self, report: Prepared, first: int) -> tuple[FloatArray, FloatArray]:
        """`sums` for the window's reports from the `first` on: one gather of the query's IDF (words: 1) times
        each row's coefficient, one of its IDF × own BM25 weight (the other direction), two segmented sums."""
        rows = self.vocabulary.rows_of(report)
        stems, words = rows.ids[1 : rows.split], rows.ids[rows.split + 1 :]
        values = rows.values[1 : rows.split]
        own = self.weights(report)[1]
        norm = K1 * (1 - B + B * report.bag.length / self.rarity.average)
        ahead_query, back_query = self.vocabulary.query()
        idf = np.take(self._idf_by_id(), stems)
        ahead_query[stems] = idf
        ahead_query[words] = 1.0
        idf *= values[:, 0]
        idf /= values[:, 1] + (norm - K1 * (1 - B))  # × tf·(k1+1)/(tf + norm)
        back_query[stems] = idf
        starts = self._starts.view[2 * first :]
        start = int(starts[0])
        ids = self._ids.view[start:]
        if start:
            starts = starts - start
        try:
            ahead = np.take(ahead_query, ids)
            back = np.take(back_query, ids)
        finally:
            ahead_query[stems] = 0.0
            ahead_query[words] = 0.0
            back_query[stems] = 0.0
        ahead *= self._coef.view[start:]
        summed = np.add.reduceat(ahead, starts)
        ahead, shared = summed[0::2], summed[1::2]
        ahead *= 1.0 / own if own > 0 else 0.0
        np.minimum(ahead, 1.0, out=ahead)
        back = np.add.reduceat(back, starts)[0::2]
        back /= self._docs.view[first:, 1]
        np.minimum(back, 1.0, out=back)
        back += ahead
        back *= (1 - self.weight) * 50.0
        return back, shared

    def sums(self, report: Prepared) -> tuple[FloatArray, FloatArray]:
        """Against every report of the window: BM25 both ways weighted as in the similarity (0..(1 − w)·100),
        and the joined length + 1 of the distinct words shared with `report` (kept, and extended to reports
        added since, for the next call)."""
        count = len(self._index_of)
        found = self._sums
        if found is not None and found[0] == report.text:
            if found[1] < count:
                lexical, shared = self._sum(report, found[1])
                found = self._sums = (
                    report.text,
                    count,
                    np.concatenate([found[2], lexical]),
                    np.concatenate([found[3], shared]),
                )
            return found[2], found[3]
        lexical, shared = self._sum(report, 0)
        self._sums = (report.text, count, lexical, shared)
        return lexical, shared

    def bounds(self, report: Prepared, at: npt.NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        """Lower and upper bounds of `report`'s similarity to the window's reports at `at`, all at once."""
        lexical, shared_plus = self.sums(report)
        lexical, shared_plus = lexical[at], shared_plus[at]
        half = 50.0 * self.weight  # token_set and token_sort weigh w/2 each, on 0..100
        ordered = process.cdist([report.sorted_text], self._sorted.view[at], scorer=fuzz.ratio, dtype=np.float64)[0]
        apart = process.cdist([report.unique_text], self._unique.view[at], scorer=Indel.distance, dtype=np.float64)[0]
        base = ordered * (half / 100.0)
        base += lexical
        # token_set_ratio (rapidfuzz, `fuzz_py.py`): with `sect` the shared distinct words, `ab` and `ba` each
        # side's others (sorted, joined by spaces), the best of ratio(sect, sect+ab), ratio(sect, sect+ba)
        # — from lengths: 100 − 100·(1 + len ab)/(len sect + len(sect+ab)) — and ratio(sect+ab, sect+ba),
        # whose Indel distance is at least |len a − len b| and at least the distance of the distinct-word
        # strings less twice the shared length (ab, ba are subsequences of them); with nothing shared, it is
        # that last ratio of the distinct-word strings themselves, exactly
        mine = float(len(report.unique_text))
        lengths = self._docs.view[at, 0]
        total = lengths + mine
        shared = shared_plus > 0.5
        ab = (mine + 1.0) - shared_plus
        ab /= np.maximum(shared_plus + (mine - 1.0), 0.5)
        ba = (lengths + 1.0) - shared_plus
        ba /= np.maximum(shared_plus + (lengths - 1.0), 0.5)
        low = np.minimum(ab, ba, out=ab)
        np.subtract(1.0, low, out=low)
        distance = np.abs(lengths - mine)
        np.maximum(distance, apart - 2.0 * shared_plus, out=distance)
        distance /= total
        high = np.subtract(1.0, distance, out=distance)
        np.maximum(high, low, out=high)
        plain = apart / total
        np.subtract(1.0, plain, out=plain)
        np.copyto(low, plain, where=~shared)
        np.copyto(high, plain, where=~shared)
        low *= half
        low += base
        low -= _MARGIN
        high *= half
        high += base
        high += _MARGIN
        return self._fused(low, report, at, -1.0), self._fused(high, report, at, 1.0)

    def upper(self, report: Prepared, at: npt.NDArray[np.intp]) -> FloatArray:
        """An upper bound of `report`'s similarity to the window's reports at `at`, cheaper than `bounds`:
        token_set ≤ 100 when a word is shared, else ≤ the bound its lengths give."""
        lexical, shared_plus = self.sums(report)
        ordered = process.cdist([report.sorted_text], self._sorted.view[at], scorer=fuzz.ratio, dtype=np.float64)[0]
        mine = float(len(report.unique_text))
        lengths = self._docs.view[at, 0]
        high = np.abs(lengths - mine)
        high /= lengths + mine
        np.subtract(1.0, high, out=high)
        high[shared_plus[at] > 0.5] = 1.0
        high *= 100.0
        high += ordered
        high *= 0.5 * self.weight
        high += lexical[at]
        high += _MARGIN
        return self._fused(high, report, at, 1.0)


class Comparison:
    """One report bounded against the noise sample and `others` in a single pass, then asked part by part
    which of `others` it is alike with (`lifts_above`, `any_lift_above`). Noise levels are measured — as
    `ReportSimilarity.lifts` would measure them — only for the parts asked about. Use it before the next
    `observe`."""

    def __init__(self, similarity: ReportSimilarity, report: Prepared, others: Sequence[Prepared]) -> None:
        self._similarity = similarity
        self.report = report
        self.others = list(others)
        epoch = self._epoch = similarity._epoch
        self._sample: tuple[FloatArray, FloatArray] | None = None
        if not report.words:  # an empty report: nothing to bound, and cheap to score exactly
            return
        at = np.array(epoch.indices(self.others), dtype=np.intp)
        if similarity._unmeasured(report):  # its noise level: the sample's members, bounded closely
            self._sample = epoch.bounds(report, np.arange(epoch.sample_size))
        self._high = epoch.upper(report, at)
        self._at = at

    def _mine(self) -> _Level:
        similarity = self._similarity
        if self._sample is not None and similarity._unmeasured(self.report):
            level = similarity._level_from(self.report, *self._sample)
            similarity._levels[self.report.text] = level
            return level
        return similarity._level(self.report)

    def lifts_above(self, part: slice, threshold: float) -> list[float]:
        """`ReportSimilarity.lifts_above(report, others[part], threshold)`."""
        return self._decide(part, threshold, first=False)

    def any_lift_above(self, part: slice, threshold: float) -> bool:
        """`ReportSimilarity.any_lift_above(report, others[part], threshold)`."""
        return any(value >= threshold for value in self._decide(part, threshold, first=True))

    def _decide(self, part: slice, threshold: float, *, first: bool) -> list[float]:
        similarity = self._similarity
        others = self.others[part]
        if not others:
            return []
        if not self.report.words:
            return similarity.lifts(self.report, others)
        mine = self._mine()
        at = self._at[part]
        epoch = self._epoch
        if mine is _DEFAULT_LEVEL:
            floor = np.full(len(others), DEFAULT_NOISE)
        else:
            floor = epoch.floors(at)
            if np.isnan(floor).any():  # measured now if never, as `lifts` would
                for i in np.flatnonzero(np.isnan(floor)).tolist():
                    floor[i] = low = similarity._level(others[i]).low
                    epoch.set_floor(others[i], low)
            np.maximum(floor, mine.low, out=floor)
        out = self._high[part] - floor
        for i in np.flatnonzero(out >= threshold).tolist():
            theirs = similarity._level(others[i])
            s = epoch.score(self.report, others[i])
            found = s - max(mine.low, theirs.low)  # at most the lift
            if found >= threshold:
                found = s - max(mine.high, theirs.high)  # at least the lift
                if found < threshold:
                    found = s - max(similarity._exact(mine), similarity._exact(theirs))
            out[i] = found
            if first and found >= threshold:
                return [found]
        values: list[float] = out.tolist()
        return values


class ReportSimilarity:
    """Pairwise similarity of reports against a rolling background of recent traffic. With an `embedder`,
    every similarity is `semantic_weight` × 100·cos(the two texts' sentence vectors) + the rest × the lexical
    score, and noise levels and lifts are taken of that fused score.

    `background`: earlier reports' texts, oldest first; `wordings`: texts that stand in for reports a young desk
    does not have yet (its KB's titles and aliases) — they teach word rarity, but are not traffic
    (`look_alikes` leaves them out)."""

    def __init__(
        self,
        *,
        fuzzy_weight: float = 0.5,
        background: Iterable[str] = (),
        wordings: Iterable[str] = (),
        embedder: Embedder | None = None,
        semantic_weight: float | None = None,
    ) -> None:
        self.fuzzy_weight = fuzzy_weight
        self._vectors = _Vectors(embedder) if embedder is not None else None
        self.semantic_weight = SEMANTIC_WEIGHT if semantic_weight is None else semantic_weight
        self._recent: deque[Prepared] = deque(maxlen=BACKGROUND_SIZE)
        self._df: Counter[str] = Counter()
        self._vocabulary = _Vocabulary()
        self._since_build = 0
        self._built_over = 0
        self._sample: list[Prepared] = []
        self._levels: dict[str, _Level] = {}
        self._later: deque[_Level] = deque()  # levels still computable as of their moment, oldest first
        self._reports: deque[bool] = deque(maxlen=BACKGROUND_SIZE)  # per background entry: a report, or a wording
        for text, real in (*((t, False) for t in wordings), *((t, True) for t in background)):
            self._recent.append(prepare(text))
            self._reports.append(real)
        for report in self._recent:
            self._df.update(report.bag.counts.keys())
            self._vocabulary.count(report, 1)
        self._rebuild()

    def observe(self, report: Prepared) -> None:
        """Add one report to the background (call once per new report, after scoring it)."""
        if len(self._recent) == self._recent.maxlen:
            gone = self._recent[0]
            self._df.subtract(gone.bag.counts.keys())
            for term in gone.bag.counts:
                if not self._df[term]:
                    del self._df[term]
            self._vocabulary.count(gone, -1)
        self._recent.append(report)
        self._reports.append(True)
        self._df.update(report.bag.counts.keys())
        self._vocabulary.count(report, 1)
        self._since_build += 1
        if not self._built_over or self._since_build >= REBUILD_EVERY or self._built_over < REBUILD_EVERY:
            self._rebuild()

    def _rebuild(self) -> None:
        self._since_build = 0
        self._built_over = len(self._recent)
        if len(self._vocabulary) > 100_000:  # ids of words long gone (order numbers, names): start afresh
            self._vocabulary = _Vocabulary()
            for report in self._recent:
                self._vocabulary.count(report, 1)
        rarity = _Rarity(self._df, (p.bag.length for p in self._recent), len(self._recent))
        # noise is likeness to ordinary traffic: the stand-in wordings only until there are reports enough
        reports = [p for p, real in zip(self._recent, self._reports, strict=True) if real]
        pool = reports if len(reports) >= NOISE_SAMPLE else list(self._recent)
        step = max(1, len(pool) // NOISE_SAMPLE)
        sample = pool[::step][:NOISE_SAMPLE]
        if len(sample) >= NOISE_SAMPLE or len(sample) > 2 * len(self._sample):
            self._sample = sample  # kept steady once full, so noise levels stay comparable
            if len(self._levels) > 50_000:
                self._levels.clear()
                self._later.clear()
        recent = list(self._recent)[-WINDOW:]
        self._epoch = _Epoch(
            rarity,
            _Sample(self._sample, rarity),
            self._vocabulary,
            self.fuzzy_weight,
            recent,
            self._vectors,
            self.semantic_weight,
        )
        self._epoch.set_floors(self._levels)

    # -- exact -------------------------------------------------------------------------------------------

    def scores(self, report: Prepared, others: Sequence[Prepared]) -> list[float]:
        """Similarity of `report` to each of `others`, 0..100."""
        epoch = self._epoch
        return [epoch.score(report, other) for other in others]

    def score(self, a: Prepared, b: Prepared) -> float:
        return self.scores(a, [b])[0]

    def noise(self, report: Prepared) -> float:
        """How alike `report` is to ordinary traffic: the 95th percentile of its similarity to a sample of
        the background. "my card is not working" resembles half of a card desk's traffic; "error 503 on
        login" resembles nothing. Similarity above this level is evidence; below it, coincidence. Measured
        against the sample of the first time it is asked for; `DEFAULT_NOISE` until there is a background."""
        return self._exact(self._level(report))

    def lifts(self, report: Prepared, others: Sequence[Prepared]) -> list[float]:
        """Similarity above the noise level of the noisier of the two reports (can be negative)."""
        mine = self.noise(report)
        return [s - max(mine, self.noise(o)) for s, o in zip(self.scores(report, others), others, strict=True)]

    def closeness(self, report: Prepared, group: Sequence[Prepared], top: int = 3) -> float:
        """How well `report` fits a group: the mean of its best `top` similarities to the group's members
        (one lucky look-alike is not enough, as with the matcher's best three aliases)."""
        found = sorted(self.scores(report, group), reverse=True)[:top]
        return sum(found) / len(found) if found else 0.0

    # -- only as exact as a threshold needs ---------------------------------------------------------------

    def compare(self, report: Prepared, others: Sequence[Prepared]) -> Comparison:
        """`report` bounded against `others` (and, for its own noise level, the sample) in one pass, to ask
        which of them it is alike with, part by part (the reports waiting in a proposal, then the free ones)."""
        return Comparison(self, report, others)

    def lifts_above(self, report: Prepared, others: Sequence[Prepared], threshold: float) -> list[float]:
        """`lifts(report, others)` where only the side of `threshold` matters: each value is ≥ `threshold`
        exactly when the lift is — below it, an upper bound of the lift; at or above it, a lower bound (the
        lift itself where the noise levels had to be made exact). Measures the same noise levels, as of the
        same moments, as `lifts` would."""
        return self.compare(report, others).lifts_above(slice(None), threshold)

    def any_lift_above(self, report: Prepared, others: Sequence[Prepared], threshold: float) -> bool:
        """`max(lifts(report, others)) >= threshold`, stopping at the first pair that reaches it."""
        return self.compare(report, others).any_lift_above(slice(None), threshold)

    def background(self, *, leave_out: Collection[str] = ()) -> list[Prepared]:
        """The background's reports, oldest first: not the stand-in wordings, and none whose text is in
        `leave_out`."""
        return [p for p, real in zip(self._recent, self._reports, strict=True) if real and p.text not in leave_out]

    def look_alikes(self, report: Prepared, threshold: float, *, leave_out: Collection[str]) -> tuple[int, int]:
        """How usual `report`'s subject is: of the background's reports (`background`), how many have a lift of
        at least `threshold` with it — and how many there were."""
        reports = self.background(leave_out=leave_out)
        if not reports:
            return 0, 0
        return sum(value >= threshold for value in self.lifts_above(report, reports, threshold)), len(reports)

    # -- noise levels --------------------------------------------------------------------------------------

    def _unmeasured(self, report: Prepared) -> bool:
        return len(self._sample) >= NOISE_SAMPLE and report.text not in self._levels

    def _level(self, report: Prepared) -> _Level:
        """The noise level of `report`, measured now (as an interval) if it never was."""
        if len(self._sample) < NOISE_SAMPLE:
            return _DEFAULT_LEVEL
        found = self._levels.get(report.text)
        if found is None:
            found = self._levels[report.text] = self._measure(report)
        return found

    def _measure(self, report: Prepared) -> _Level:
        epoch = self._epoch
        if not report.words:  # an empty report: measured exactly
            others = [d for d in epoch.sample.docs if d.text != report.text]
            values = sorted(epoch.score(report, d) for d in others)
            value = values[min(len(values) - 1, int(NOISE_QUANTILE * len(values)))] if values else 0.0
            return _Level(value, value, value)
        low, high = epoch.bounds(report, np.arange(epoch.sample_size))
        return self._level_from(report, low, high)

    def _level_from(self, report: Prepared, low: FloatArray, high: FloatArray) -> _Level:
        """A noise level as an interval, from bounds of the similarity to each member of the sample."""
        epoch = self._epoch
        itself = epoch.sample_rows.get(report.text)  # as `noise` always has: not against itself
        if itself:
            low, high = np.delete(low, itself), high.copy()
            high[itself] = -math.inf
        m = len(low)
        if m == 0:
            level = _Level(0.0, 0.0, 0.0)
        else:
            index = min(m - 1, int(NOISE_QUANTILE * m))
            level = _Level(
                float(np.partition(low, index)[index]),
                float(np.partition(high, len(high) - m + index)[len(high) - m + index]),
            )
            level.highs = high
            level.rank = m - index
            level.report = report
            level.weights = epoch.weights(report)
            level.sample = epoch.sample
            self._later.append(level)
            if len(self._later) > EXACT_LATER:
                self._later.popleft().forget_moment()  # keeps its interval
        epoch.set_floor(report, level.low)
        return level

    def _exact(self, level: _Level) -> float:
        """Make `level` exact: the rank-th largest similarity to its sample, scoring the members exactly in
        order of their upper bounds until no other member can reach the rank-th."""
        if level.exact is not None:
            return level.exact
        assert level.report is not None
        sample, weights, highs = level.sample, level.weights, level.highs
        if sample is None or weights is None or highs is None:  # its moment is gone: measure against today's
            self._levels.pop(level.report.text, None)
            fresh = self._level(level.report)
            self._levels[level.report.text] = level
            return level.settle(self._exact(fresh))
        top: list[float] = []
        order = np.argsort(-highs, kind="stable")
        for j, high in zip(order.tolist(), highs[order].tolist(), strict=True):
            if len(top) == level.rank and top[0] >= high:
                break
            member = sample.docs[j]
            s = _score(
                level.report, weights, member, sample.weights[j], sample.average, sample.indexed, self.fuzzy_weight
            )
            if self._vectors is not None:
                s = _fuse(s, self._vectors.similarity(level.report, member), self.semantic_weight)
            if len(top) < level.rank:
                heapq.heappush(top, s)
            elif s > top[0]:
                heapq.heapreplace(top, s)
        return level.settle(top[0])
