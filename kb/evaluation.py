"""Measure how well the matcher suggests articles, and when it should stay silent.

Ranking metrics (hit@k, MRR@k, tie share) use in-scope queries and ignore the threshold; abstention
metrics treat "top score < threshold" as "suggest nothing" and compare that with the gold label.
Everything here is a plain function over plain data so an eval CLI (or a test) can reuse it;
`python -m kb.evaluation [DATA_DIR]` prints the dev figures quoted beside `DEFAULT_MIN_SCORE`.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from kb.datasets import Dataset, Query
from kb.matcher import Matcher, Scoring
from kb.progress import NO_PROGRESS, Progress


@dataclass(frozen=True)
class Ranked:
    """The matcher's top answers for one query."""

    gold: str | None
    ids: tuple[str, ...]  # best first
    scores: tuple[float, ...]

    @property
    def top_score(self) -> float:
        return self.scores[0] if self.scores else 0.0


@dataclass(frozen=True)
class Abstention:
    threshold: float
    precision: float  # of the abstentions, the share on out-of-scope queries (0 when none)
    recall: float  # of the out-of-scope queries, the share abstained on
    false_abstain_rate: float  # of the in-scope queries, the share abstained on
    out_of_scope: int
    in_scope: int


@dataclass(frozen=True)
class Report:
    hit_at_1: float
    hit_at_3: float
    mrr_at_3: float
    tie_share: float
    auroc: float
    abstention: Abstention


def rank_queries(
    matcher: Matcher, queries: Sequence[Query], depth: int = 3, progress: Progress = NO_PROGRESS
) -> list[Ranked]:
    ranked = []
    progress.start("Ranking queries", len(queries))
    for query in queries:
        progress.advance()
        hits = matcher.rank(query.text)[:depth]
        ranked.append(Ranked(query.gold, tuple(h.article.id for h in hits), tuple(h.score for h in hits)))
    return ranked


def _in_scope(ranked: Sequence[Ranked]) -> list[Ranked]:
    return [r for r in ranked if r.gold is not None]


def hit_at(ranked: Sequence[Ranked], k: int) -> float:
    """Share of in-scope queries whose gold article is among the first `k`."""
    scoped = _in_scope(ranked)
    return sum(r.gold in r.ids[:k] for r in scoped) / len(scoped) if scoped else 0.0


def mrr_at(ranked: Sequence[Ranked], k: int) -> float:
    """Mean reciprocal rank of the gold article, counting 0 when it is not in the first `k`."""
    scoped = _in_scope(ranked)
    total = sum(1 / (r.ids[:k].index(r.gold) + 1) for r in scoped if r.gold in r.ids[:k])
    return total / len(scoped) if scoped else 0.0


def tie_share(ranked: Sequence[Ranked]) -> float:
    """Share of queries whose first two scores are equal (the order between them is then a tie-break)."""
    return sum(len(r.scores) > 1 and math.isclose(r.scores[0], r.scores[1]) for r in ranked) / max(len(ranked), 1)


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """P(a random positive scores above a random negative), ties counting ½ (Mann–Whitney U)."""
    if not positives or not negatives:
        return math.nan
    ordered = sorted(negatives)
    wins = sum(bisect_left(ordered, p) + (bisect_right(ordered, p) - bisect_left(ordered, p)) / 2 for p in positives)
    return wins / (len(positives) * len(negatives))


def abstention(ranked: Sequence[Ranked], threshold: float) -> Abstention:
    """Abstain when the top score is below `threshold` (as `Matcher.suggest` does)."""
    abstained = [r for r in ranked if r.top_score < threshold]
    right = sum(r.gold is None for r in abstained)
    n_out = sum(r.gold is None for r in ranked)
    n_in = len(ranked) - n_out
    return Abstention(
        threshold=threshold,
        precision=right / len(abstained) if abstained else 0.0,
        recall=right / n_out if n_out else 0.0,
        false_abstain_rate=(len(abstained) - right) / n_in if n_in else 0.0,
        out_of_scope=n_out,
        in_scope=n_in,
    )


def choose_threshold(ranked: Sequence[Ranked], target_recall: float = 0.9, step: float = 1.0) -> float:
    """The lowest threshold on a `step` grid whose out-of-scope abstain recall reaches `target_recall`.

    Lowest, because every point higher only adds false abstains on in-scope queries.
    """
    for tick in range(round(100 / step) + 2):
        if abstention(ranked, tick * step).recall >= target_recall:
            return tick * step
    return 100.0 + step


def evaluate(matcher: Matcher, queries: Sequence[Query], threshold: float) -> Report:
    return report(rank_queries(matcher, queries), threshold)


def report(ranked: Sequence[Ranked], threshold: float) -> Report:
    return Report(
        hit_at_1=hit_at(ranked, 1),
        hit_at_3=hit_at(ranked, 3),
        mrr_at_3=mrr_at(ranked, 3),
        tie_share=tie_share(ranked),
        auroc=auroc([r.top_score for r in _in_scope(ranked)], [r.top_score for r in ranked if r.gold is None]),
        abstention=abstention(ranked, threshold),
    )


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    calls: int


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else math.nan


def latency(
    matcher: Matcher, texts: Sequence[str], *, calls: int = 1_000, warmup: int = 50, progress: Progress = NO_PROGRESS
) -> Latency:
    """Wall time of whole `suggest()` calls, warm, cycling through `texts`."""
    progress.start("Timing suggest()", calls)
    for i in range(min(warmup, calls)):
        matcher.suggest(texts[i % len(texts)])
    times = []
    for i in range(calls):
        start = time.perf_counter()
        matcher.suggest(texts[i % len(texts)])
        times.append((time.perf_counter() - start) * 1000)
        progress.advance()
    return Latency(percentile(times, 50), percentile(times, 99), calls)


def describe(dataset: Dataset, result: Report) -> str:
    a = result.abstention
    ratio = f"{a.out_of_scope}:{a.in_scope}"
    return (
        f"{dataset.name}: {len(dataset.articles)} articles, {a.in_scope} in-scope + {a.out_of_scope} oos queries\n"
        f"  hit@1 {result.hit_at_1:.3f}  hit@3 {result.hit_at_3:.3f}  MRR@3 {result.mrr_at_3:.3f}"
        f"  ties {result.tie_share:.3f}  AUROC {result.auroc:.3f}\n"
        f"  at {a.threshold:g}: abstain precision {a.precision:.3f} (oos:in = {ratio})"
        f"  recall {a.recall:.3f}  false-abstain rate {a.false_abstain_rate:.3f}"
    )


if __name__ == "__main__":
    import sys
    from pathlib import Path

    import rapidfuzz

    from kb.datasets import banking77_dataset, clinc_dataset
    from kb.matcher import DEFAULT_MIN_SCORE

    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data")
    scoring = Scoring()
    print(f"rapidfuzz {rapidfuzz.__version__}; seed 0; scoring {scoring}; body empty")
    dev = clinc_dataset(data / "clinc150", k=5)
    dev_ranked = rank_queries(Matcher(dev.articles, min_score=0, scoring=scoring), dev.queries)
    print(f"threshold for oos abstain recall ≥ 0.9 on {dev.name}: {choose_threshold(dev_ranked)}")
    print(f"DEFAULT_MIN_SCORE = {DEFAULT_MIN_SCORE}")
    datasets = [dev, clinc_dataset(data / "clinc150", k=20)]
    datasets += [banking77_dataset(data / "banking77" / "train.csv", data / "clinc150", k=k) for k in (5, 20)]
    for dataset in datasets:
        matcher = Matcher(dataset.articles, min_score=DEFAULT_MIN_SCORE, scoring=scoring)
        print(describe(dataset, evaluate(matcher, dataset.queries, DEFAULT_MIN_SCORE)))
    speed = latency(Matcher(dev.articles, scoring=scoring), [q.text for q in dev.queries])
    print(f"suggest() latency, {len(dev.articles)} articles: p50 {speed.p50_ms:.3f} ms  p99 {speed.p99_ms:.3f} ms")
