"""The evaluation protocol of EVALUATION.md as one call: build the KB, fix the threshold on dev, score a split.

- The KB: one intent = one article, title + K training utterances (seed), empty body (`kb.datasets`).
- The threshold: the lowest whole score at which the matcher abstains on ≥ 90 % of the dev split's
  out-of-scope queries, chosen on dev and carried unchanged to test (`DEFAULT_MIN_SCORE` when the dev
  split has no out-of-scope queries).
- Learning (`learn=True`): start from the K-alias KB and feed the in-scope dev queries one by one as
  customer messages. Feedback is simulated: the customer accepts when the right article is among the
  matcher's (at most 3) suggestions, otherwise an agent cites the right article; either way the message
  becomes a learned alias of that article. More aliases lift every score, so the threshold is then
  fixed again on the dev out-of-scope queries (which were never learned from; the threshold depends on
  them alone) and carried to the scored split as before.
  Scoring the dev split after learning from it would score the answers it memorised, so with
  `split="val"` the in-scope dev queries are halved: the even ones teach, the odd ones (with every
  out-of-scope query) are scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kb.datasets import Dataset, DatasetError, Query, banking77_dataset, clinc_dataset
from kb.evaluation import Latency, Ranked, Report, choose_threshold, latency, rank_queries, report
from kb.matcher import DEFAULT_MIN_SCORE, Embedder, Matcher, Scoring
from kb.progress import NO_PROGRESS, Progress

DatasetName = Literal["clinc150", "banking77"]
Split = Literal["val", "test"]
SUBSETS: dict[str, tuple[str, ...]] = {"banking_cc": ("banking", "credit_cards")}
TARGET_RECALL = 0.9


@dataclass(frozen=True)
class EvalConfig:
    dataset: DatasetName
    data: Path  # the dataset's folder (layout of shared/data/<dataset>/)
    split: Split = "val"
    k: int = 5
    seed: int = 0
    subset: str | None = None  # clinc150 only: "banking_cc"
    learn: bool = False
    clinc: Path | None = None  # banking77 only: CLINC150 folder for out-of-scope queries
    calls: int = 1_000  # suggest() calls timed
    scoring: Scoring = field(default_factory=Scoring)


@dataclass(frozen=True)
class LearnStats:
    accepted: int  # the right article was suggested and accepted
    cited: int  # an agent cited it


@dataclass(frozen=True)
class EvalResult:
    name: str
    articles: int
    threshold: float
    report: Report
    answered_hit_at_1: float
    speed: Latency
    learned: LearnStats | None

    def metrics(self) -> dict[str, float | int | None]:
        """The object `threaddesk kb eval --json` prints (NaN becomes null)."""
        r, a = self.report, self.report.abstention
        values: dict[str, float | int | None] = {
            "hit_at_1": r.hit_at_1,
            "hit_at_3": r.hit_at_3,
            "mrr_at_3": r.mrr_at_3,
            "tie_rate": r.tie_share,
            "auroc": r.auroc,
            "abstain_precision": a.precision,
            "abstain_recall": a.recall,
            "false_abstain_rate": a.false_abstain_rate,
            "answered_hit_at_1": self.answered_hit_at_1,
            "p50_ms": self.speed.p50_ms,
            "p99_ms": self.speed.p99_ms,
            "n_in_scope": a.in_scope,
            "n_out_of_scope": a.out_of_scope,
        }
        return {
            key: None if isinstance(v, float) and math.isnan(v) else (round(v, 4) if isinstance(v, float) else v)
            for key, v in values.items()
        }


def load(config: EvalConfig, split: Split) -> Dataset:
    """The KB and the queries of `split` for this configuration."""
    if config.k < 1:
        raise DatasetError("--k must be at least 1")
    if config.dataset == "clinc150":
        domains = None
        if config.subset is not None:
            if config.subset not in SUBSETS:
                raise DatasetError(f"unknown subset '{config.subset}'; known: {', '.join(SUBSETS)}")
            domains = SUBSETS[config.subset]
        return clinc_dataset(config.data, domains=domains, k=config.k, seed=config.seed, split=split)
    if config.subset is not None:
        raise DatasetError(f"--subset {config.subset} applies to clinc150 only")
    clinc = config.clinc if config.clinc is not None else _sibling_clinc(config.data)
    oos_split = split
    if clinc is not None and split == "test" and not (clinc / "data_test.json").is_file():
        oos_split = "val"  # see `notes`: better scored with dev out-of-scope queries than not at all
    return banking77_dataset(
        config.data / "train.csv", clinc, k=config.k, seed=config.seed, split=split, oos_split=oos_split
    )


def notes(config: EvalConfig) -> list[str]:
    """What a reader of the figures should know about where the out-of-scope queries came from."""
    if config.dataset != "banking77":
        return []
    clinc = config.clinc if config.clinc is not None else _sibling_clinc(config.data)
    if clinc is None:
        return [f"no CLINC150 folder beside {config.data}: no out-of-scope queries, threshold = DEFAULT_MIN_SCORE"]
    if config.split == "test" and not (clinc / "data_test.json").is_file():
        return [f"{clinc} has no data_test.json: out-of-scope queries are CLINC's dev ones (used to fix the threshold)"]
    return []


def _sibling_clinc(banking_dir: Path) -> Path | None:
    """CLINC150 beside the BANKING77 folder (shared/data/clinc150), or inside it."""
    for candidate in (banking_dir.parent / "clinc150", banking_dir / "clinc150"):
        if (candidate / "data_dev.json").is_file():
            return candidate
    return None


def simulate_learning(matcher: Matcher, queries: Sequence[Query]) -> tuple[Matcher, LearnStats]:
    """Feed in-scope `queries` in order, each becoming a learned alias of its gold article."""
    accepted = cited = 0
    for query in queries:
        if query.gold is None:
            continue
        if query.gold in {hit.article.id for hit in matcher.suggest(query.text, 3)}:
            accepted += 1
        else:
            cited += 1
        matcher = matcher.learn(query.gold, query.text)
        if matcher.needs_refit:  # as `KnowledgeLibrary.refresh` does in the bot
            matcher = matcher.with_text_classifier(matcher.refit_text_classifier())
    return matcher, LearnStats(accepted=accepted, cited=cited)


def answered_hit_at_1(ranked: Sequence[Ranked], threshold: float) -> float:
    """Of the in-scope queries the matcher answers (top score ≥ threshold), the share answered right."""
    answered = [r for r in ranked if r.gold is not None and r.scores and r.top_score >= threshold]
    return sum(r.ids[0] == r.gold for r in answered) / len(answered) if answered else 0.0


def run(config: EvalConfig, *, embedder: Embedder | None = None, progress: Progress = NO_PROGRESS) -> EvalResult:
    dev = load(config, "val")
    target = dev if config.split == "val" else load(config, "test")
    matcher = Matcher(dev.articles, min_score=0, scoring=config.scoring, embedder=embedder, progress=progress)
    dev_ranked = rank_queries(matcher, dev.queries, progress=progress)
    has_oos = any(r.gold is None for r in dev_ranked)
    threshold = choose_threshold(dev_ranked, TARGET_RECALL) if has_oos else DEFAULT_MIN_SCORE
    matcher.min_score = threshold
    queries: Sequence[Query] = target.queries
    stats = None
    if config.learn:
        teach = [q for q in dev.queries if q.gold is not None]
        if config.split == "val":
            teach, held = teach[0::2], teach[1::2]
            queries = [*held, *(q for q in dev.queries if q.gold is None)]
        matcher, stats = simulate_learning(matcher, teach)
        if has_oos:  # re-fixed on the dev out-of-scope queries, which were never learned from
            threshold = choose_threshold(rank_queries(matcher, [q for q in dev.queries if q.gold is None]))
            matcher.min_score = threshold
    ranked = dev_ranked if queries is dev.queries else rank_queries(matcher, queries, progress=progress)
    texts = [q.text for q in queries]
    speed = latency(matcher, texts, calls=config.calls, progress=progress) if texts else Latency(math.nan, math.nan, 0)
    learned = " +learn" if config.learn else ""
    return EvalResult(
        name=f"{target.name}{learned}",
        articles=len(matcher),
        threshold=threshold,
        report=report(ranked, threshold),
        answered_hit_at_1=answered_hit_at_1(ranked, threshold),
        speed=speed,
        learned=stats,
    )
