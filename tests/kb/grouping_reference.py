"""The plain computation `kb.grouping` made before it learned to bound: `kb/grouping.py` as of commit 5de1d3d,
kept verbatim (BM25Index rebuilt over the background, every similarity scored, every noise level measured)
so that tests can check the fast path against it — same scores, same noise levels, same decisions."""

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

NOISE_SAMPLE = 100
"""Background reports a report is compared with to learn its own noise level (`ReportSimilarity.noise`)."""

NOISE_QUANTILE = 0.95
"""A report's noise level: this quantile of its similarity to the background sample."""

DEFAULT_NOISE = 35.0
"""The noise level assumed until `NOISE_SAMPLE` reports make a background (a new desk, a test): the
median noise level measured on the CLINC150 and BANKING77 training traffic (32 and 37)."""


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
        self._sample: list[Prepared] = []
        self._noise: dict[str, float] = {}
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
        step = max(1, len(self._recent) // NOISE_SAMPLE)
        sample = list(self._recent)[::step][:NOISE_SAMPLE]
        if len(sample) >= NOISE_SAMPLE or len(sample) > 2 * len(self._sample):
            self._sample = sample  # kept steady once full, so noise levels stay comparable
            if len(self._noise) > 50_000:
                self._noise.clear()

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
            fuzzy = (fuzz.token_set_ratio(report.text, other.text) + fuzz.token_sort_ratio(report.text, other.text)) / 2
            if self._index is None:  # nothing seen yet to tell rare words from common ones
                out.append(fuzzy)
                continue
            back = self._bm25(other, [report])[0]
            lexical = 100.0 * (ahead + back) / 2
            out.append(self.fuzzy_weight * fuzzy + (1 - self.fuzzy_weight) * lexical)
        return out

    def score(self, a: Prepared, b: Prepared) -> float:
        return self.scores(a, [b])[0]

    def noise(self, report: Prepared) -> float:
        """How alike `report` is to ordinary traffic: the 95th percentile of its similarity to a sample of
        the background. "my card is not working" resembles half of a card desk's traffic; "error 503 on
        login" resembles nothing. Similarity above this level is evidence; below it, coincidence. Cached per
        text; `DEFAULT_NOISE` until there is a background to measure against."""
        if len(self._sample) < NOISE_SAMPLE:
            return DEFAULT_NOISE
        found = self._noise.get(report.text)
        if found is None:
            others = [p for p in self._sample if p.text != report.text]
            values = sorted(self.scores(report, others))
            found = values[min(len(values) - 1, int(NOISE_QUANTILE * len(values)))] if values else 0.0
            self._noise[report.text] = found
        return found

    def lifts(self, report: Prepared, others: Sequence[Prepared]) -> list[float]:
        """Similarity above the noise level of the noisier of the two reports (can be negative)."""
        mine = self.noise(report)
        return [s - max(mine, self.noise(o)) for s, o in zip(self.scores(report, others), others, strict=True)]

    def closeness(self, report: Prepared, group: Sequence[Prepared], top: int = 3) -> float:
        """How well `report` fits a group: the mean of its best `top` similarities to the group's members
        (one lucky look-alike is not enough, as with the matcher's best three aliases)."""
        found = sorted(self.scores(report, group), reverse=True)[:top]
        return sum(found) / len(found) if found else 0.0
