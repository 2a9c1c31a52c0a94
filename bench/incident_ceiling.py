"""How much of a burst any similarity rule could link, once its incident exists — an upper bound for recall.

Detection is given every advantage: each burst of the replay streams (`bench/incidents.py`) is taken as
detected at its `--seed`-th report (4: `min_reports` of the semantic defaults) with exactly its first reports
as members, nothing else. Each LATER report of the burst must then be recognised as one of them, and each
background report arriving after that point must not be. Three ways of judging, all on the MiniLM sentence
vectors (the semantic extra; detection fuses 0.3 of a lexical score in, which changes little here):

- **best 3** — the mean of a report's three best cosines to the members, less its noise level (the 95th
  percentile of its cosines to 100 earlier reports outside its 15-minute window): the rule `_join` uses;
- **centroid** — the cosine to the members' mean vector, less the same noise level;
- **exemplar** — a logistic regression fitted, at detection, to the members against the desk's last 2,000
  reports (the desk's ordinary traffic, no labels): the most a per-incident learned boundary adds.

Detection itself is then measured the same way (`--similarity`): the report of each burst at which a star of
`--seed` of its OWN reports (from 15 minutes) first exists — the new report and the others all alike to it, or
all alike to one of them that is alike to it, `_detect`'s rule — with lifts over the noise level as above; and
how many such stars the background alone forms in a day (false incidents, before the usual-rate check).

For each judge, the threshold is read off the background (false-link rate f among background reports), and the
table gives the share of later burst reports recognised, and the B-cubed recall the streams' bursts would
score if every burst were detected at that report and linked exactly so (background links left out: they
cost precision, not recall). It is a ceiling for the recall `bench/incidents.py` measures, not a detector.

    python bench/incident_ceiling.py --split train --seeds 0,1,2     # needs the semantic extra
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
# bench's own modules come after the packages some of them are named like (bench/kb.py is not the kb package)
sys.path[:] = [*(p for p in sys.path if Path(p or ".").resolve() != HERE), str(HERE)]

import incidents as streams  # noqa: E402  (the replay streams, built exactly as bench/incidents.py builds them)

from kb import semantic  # noqa: E402

FloatArray = npt.NDArray[np.float64]
WINDOW_SECONDS = 15 * 60
JOIN_WINDOW_SECONDS = 15 * 60  # `[incidents] join_window`
HISTORY = 2_000
NOISE_SAMPLE = 100
RATES = (0.001, 0.003, 0.01, 0.03)


def noise_levels(vectors: FloatArray, seconds: FloatArray, seed: int) -> FloatArray:
    """Each report's 95th-percentile cosine (×100) to 100 earlier reports from outside its window."""
    rng = np.random.default_rng(seed)
    levels = np.full(len(seconds), 35.0)  # `kb.grouping.DEFAULT_NOISE` while there is no history
    for i in range(len(seconds)):
        first, last = max(0, i - HISTORY), int(np.searchsorted(seconds, seconds[i] - WINDOW_SECONDS))
        if last - first >= 20:
            sample = rng.choice(np.arange(first, last), size=min(NOISE_SAMPLE, last - first), replace=False)
            levels[i] = float(np.quantile(100 * vectors[sample] @ vectors[i], 0.95))
    return levels


Judge = Callable[[FloatArray, FloatArray, FloatArray, FloatArray], FloatArray]


def best_three(members: FloatArray, history: FloatArray, x: FloatArray, noise: FloatArray) -> FloatArray:
    found: FloatArray = np.sort(100 * x @ members.T, axis=1)[:, -3:].mean(axis=1) - noise
    return found


def centroid(members: FloatArray, history: FloatArray, x: FloatArray, noise: FloatArray) -> FloatArray:
    centre = members.mean(axis=0)
    found: FloatArray = 100 * x @ (centre / np.linalg.norm(centre)) - noise
    return found


def exemplar(members: FloatArray, history: FloatArray, x: FloatArray, noise: FloatArray) -> FloatArray:
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=500)
    model.fit(np.vstack([members, history]), np.r_[np.ones(len(members)), np.zeros(len(history))])
    found: FloatArray = model.decision_function(x)
    return found


JUDGES: dict[str, Judge] = {"best 3 (the join's rule)": best_three, "centroid": centroid, "exemplar": exemplar}


def bursts_of(
    stream: Any, vectors: FloatArray, seconds: FloatArray, noise: FloatArray, seed_size: int
) -> list[dict[str, Any]]:
    """Per burst: its size, each judge's scores for its later reports and for the background after it, and
    which of that background arrives while the incident still takes reports."""
    gold = np.array([stream.gold.get(r.id, -1) for r in stream.reports])
    found = []
    for burst in sorted(set(gold.tolist()) - {-1}):
        ids = np.flatnonzero(gold == burst)
        if len(ids) <= seed_size:
            continue
        seed, later = ids[:seed_size], ids[seed_size:]
        history = np.arange(max(0, seed[-1] - HISTORY), seed[-1])
        history = history[~np.isin(history, seed)]
        background = np.array([j for j in range(seed[-1] + 1, len(gold)) if gold[j] < 0])
        # the background the incident is open to: until `join_window` after the burst's last report
        exposed = seconds[background] <= seconds[ids[-1]] + JOIN_WINDOW_SECONDS
        scores = {}
        for name, judge in JUDGES.items():
            scores[name] = (
                judge(vectors[seed], vectors[history], vectors[later], noise[later]),
                judge(vectors[seed], vectors[history], vectors[background], noise[background]),
            )
        found.append({"size": len(ids), "seed": seed_size, "scores": scores, "exposed": exposed})
    return found


def forms_star(lifts: FloatArray, window: Sequence[int], size: int, similarity: float) -> bool:
    """Whether the window's newest report and `size - 1` others form a star (`_detect`'s rule)."""
    if len(window) < size:
        return False
    new = window[-1]
    close = [j for j in window[:-1] if lifts[new, j] >= similarity]
    return len(close) >= size - 1 or any(
        sum(1 for j in window if j != c and lifts[c, j] >= similarity) >= size - 1 for c in close
    )


def star_at(lifts: FloatArray, seconds: FloatArray, ids: Sequence[int], size: int, similarity: float) -> int:
    """How many of a burst's reports had arrived when its own reports first formed a star (0: never)."""
    for m in range(size - 1, len(ids)):
        if forms_star(
            lifts, [j for j in ids[: m + 1] if seconds[ids[m]] - seconds[j] <= WINDOW_SECONDS], size, similarity
        ):
            return m + 1
    return 0


def false_stars(lifts: FloatArray, seconds: FloatArray, background: Sequence[int], size: int, similarity: float) -> int:
    """Stars the background alone forms (after one, its window's look-alikes would join that incident: one
    counted per window)."""
    found, last = 0, -float("inf")
    for k, new in enumerate(background):
        if seconds[new] - last <= WINDOW_SECONDS:
            continue
        window = [j for j in background[max(0, k - 100) : k + 1] if seconds[new] - seconds[j] <= WINDOW_SECONDS]
        if forms_star(lifts, window, size, similarity):
            found, last = found + 1, seconds[new]
    return found


def scored(bursts: list[dict[str, Any]], judge: str, threshold: float) -> tuple[float, float, float]:
    """(later reports recognised, B-cubed precision, B-cubed recall) if every burst were detected at its seed
    and then linked exactly the reports scoring `threshold` or more — its own and the exposed background's."""
    recognised = precision_sum = linked_reports = recall_sum = reports = later = 0.0
    for b in bursts:
        own = b["seed"] + int((b["scores"][judge][0] >= threshold).sum())
        wrong = int((b["scores"][judge][1][b["exposed"]] >= threshold).sum())
        recognised += own - b["seed"]
        later += b["size"] - b["seed"]
        total = own + wrong
        precision_sum += own * own / total + wrong / total  # each linked report: the share of its incident like it
        linked_reports += total
        recall_sum += own * own / b["size"] + (b["size"] - own) / b["size"]  # unlinked ones: 1 / burst size
        reports += b["size"]
    return recognised / later, precision_sum / linked_reports, recall_sum / reports


def detection_rows(name: str, found: list[tuple[Any, FloatArray, FloatArray]], size: int, levels: str) -> None:
    for similarity in (float(v) for v in levels.split(",")):
        at: list[int] = []
        false = 0
        for stream, seconds, lifts in found:
            gold = np.array([stream.gold.get(r.id, -1) for r in stream.reports])
            for burst in sorted(set(gold.tolist()) - {-1}):
                at.append(star_at(lifts, seconds, np.flatnonzero(gold == burst).tolist(), size, similarity))
            false += false_stars(lifts, seconds, np.flatnonzero(gold < 0).tolist(), size, similarity)
        hits = [a for a in at if a]
        by = [sum(1 for a in hits if a <= size + k) / len(at) for k in (0, 1)]
        print(
            f"| {name} | {similarity:g} | {len(hits) / len(at):.2f} | {by[0]:.2f} | {by[1]:.2f} | "
            f"{statistics.median(hits) if hits else float('nan'):g} | {false / len(found):.1f} |",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("train", "val"), default="train")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--seed-size", type=int, default=4, help="the burst's reports its incident starts with")
    parser.add_argument("--similarity", default="14,18,22,26", help="detection's lift thresholds to measure")
    args = parser.parse_args(argv)
    embedder = semantic.load_embedder()
    print(f"{args.split} streams, seeds {args.seeds}; incidents start with each burst's first {args.seed_size}")
    joins, detections = [], []
    for name in ("clinc150", "banking77"):
        pool = streams.clinc_split(args.split) if name == "clinc150" else streams.banking_split(args.split)
        bursts: list[dict[str, Any]] = []
        found: list[tuple[Any, FloatArray, FloatArray]] = []
        for seed in (int(s) for s in args.seeds.split(",")):
            stream = streams.build_stream(f"{name}-{args.split}", pool, seed, bursts=8, gap=60.0, shared=False)
            vectors = embedder.encode([r.text for r in stream.reports]).astype(np.float64)
            seconds = np.array([r.at.timestamp() for r in stream.reports])
            noise = noise_levels(vectors, seconds, seed)
            bursts.extend(bursts_of(stream, vectors, seconds, noise, args.seed_size))
            found.append((stream, seconds, 100 * vectors @ vectors.T - np.maximum.outer(noise, noise)))
        joins.append((name, bursts))
        detections.append((name, found))
    print("\n| dataset | judge | false-link rate | later reports recognised | B-cubed precision | B-cubed recall |")
    print("|---|---|---|---|---|---|")
    for name, bursts in joins:
        for judge in JUDGES:
            negatives = np.concatenate([b["scores"][judge][1] for b in bursts])
            for rate in RATES:
                share, precision, recall = scored(bursts, judge, float(np.quantile(negatives, 1 - rate)))
                print(f"| {name} | {judge} | {rate:.1%} | {share:.3f} | {precision:.3f} | {recall:.3f} |")
            candidates = [scored(bursts, judge, float(t)) for t in np.quantile(negatives, np.linspace(0.9, 1, 201))]
            best = max((r for _, p, r in candidates if p >= 0.9), default=0.0)
            print(f"| {name} | {judge} | the best threshold with precision ≥ 0.90 | | | {best:.3f} |", flush=True)
    n = args.seed_size
    print(
        f"\n| dataset | similarity (lift) | bursts whose own reports form a star | by report {n} | by report {n + 1} "
        "| median reports to detect | background stars / stream |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, found in detections:
        detection_rows(name, found, n, args.similarity)


if __name__ == "__main__":
    main()
