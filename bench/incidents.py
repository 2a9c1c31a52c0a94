"""Incident grouping on replay streams built from CLINC150 / BANKING77 (not a timed test).

A stream (EVALUATION.md, "Incident grouping") is one day of support traffic (or as long as the split's
background utterances last: BANKING77's val has 10 per intent, about 10 hours at one a minute):

- background: one report every `--gap` seconds on average (exponential gaps), each a single utterance of
  a random intent, from a pool of 400 customers;
- bursts: `--bursts` per day, each 5–30 utterances of one intent (capped by what the split holds), from
  as many different customers, spread over 5–20 minutes; starts are random, and every other burst is
  placed to overlap the one before it.

A burst is one true incident; background reports belong to none. Background draws from intents that do
not burst that day (`--shared-intents` lets them: then a background report of a bursting intent that
arrives after its burst is unlabelled but still an outage report, and counts as a wrong link).
Utterances are never reused within a stream. Streams are seeded (`--seeds`).

Splits: CLINC150 `train` / `val` (100 / 20 utterances per intent); BANKING77 has only `train.csv` here,
so its `val` is the dev set EVALUATION.md carves out of it (10 per intent, seed 0) and its `train` is the
rest. Thresholds are fixed on `train`-built streams; `val`-built streams are reported.

Scores (B-cubed, EVALUATION.md): precision averaged over the reports the replay linked (a linked
background report scores 1/|its incident|), recall averaged over burst reports (an unlinked one scores
1/|its burst|); detection: the share of bursts that got an incident, and the median number of the
burst's reports that had arrived when it was detected.

    python bench/incidents.py --split train --similarity 12,15,22 --join-similarity 10,12   # fix thresholds
    python bench/incidents.py --split train --semantic ...   # the same with MiniLM fused in (needs .[semantic])
    python bench/incidents.py --split val                 # report (the [incidents] defaults)
    python bench/incidents.py --split train --semantic --oracle 4   # joining alone: bursts detected perfectly
    python bench/incidents.py --split val --semantic --kb 20  # the desk's KB tells subjects apart (kb_topics)
    python bench/incidents.py --split val --semantic --kb 20 --write DIR   # also DIR/banking77-kb and a config:
    threaddesk incidents replay DIR/banking77-val-0.jsonl --config DIR/banking77.toml --json
    python bench/incidents.py --split val --write DIR     # also write the streams as JSON Lines, then
    threaddesk incidents replay DIR/clinc150-val-0.jsonl --json   # gives the same incidents
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from adapters.incident_replay import Report, replay  # noqa: E402
from bot.bootstrap import incident_embedder  # noqa: E402
from bot.config import settings_from_dict  # noqa: E402
from bot.services import incident_detection  # noqa: E402
from kb import grouping, semantic  # noqa: E402
from kb.datasets import articles_from_examples  # noqa: E402
from kb.writer import write_directory  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = next((p for p in (REPO.parent / "shared" / "data", REPO.parents[1] / "shared" / "data") if p.is_dir()), REPO)
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
DAY = 24 * 3600


@dataclass(frozen=True)
class Stream:
    name: str
    reports: list[Report]
    gold: dict[str, int]  # report id -> burst number (background reports are absent)


def clinc_split(split: str) -> dict[str, list[str]]:
    data = json.loads((DATA / "clinc150" / "data_dev.json").read_text(encoding="utf-8"))
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in data[split]:
        by_intent[intent].append(text)
    return dict(by_intent)


def banking_split(split: str) -> dict[str, list[str]]:
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8", newline="") as handle:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(handle)]
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows:
        by_intent[intent].append(text)
    out: dict[str, list[str]] = {}
    for intent, texts in by_intent.items():
        shuffled = sorted(texts)
        random.Random(f"0:{intent}").shuffle(shuffled)  # the dev carve-out (seed 0, 10 per intent)
        out[intent] = shuffled[:10] if split == "val" else shuffled[10:]
    return out


def desk_kb(name: str, k: int) -> tuple[Path, set[str]]:
    """A desk's knowledge base as EVALUATION.md builds one (an article per intent, `k` of its `train`
    utterances as aliases, seed 0), written as Markdown into a temporary folder; and those utterances."""
    pool = clinc_split("train") if name == "clinc150" else banking_split("train")
    examples = [(text, intent) for intent, texts in pool.items() for text in texts]
    articles = [
        article.model_copy(update={"id": re.sub(r"[^\w.-]", "", article.id)})  # "reverted_card_payment?"
        for article in articles_from_examples(examples, sorted(pool), k=k, seed=0)
    ]
    folder = Path(tempfile.mkdtemp(prefix=f"threaddesk-bench-kb-{name}-"))
    write_directory(folder, articles)
    return folder, {alias for article in articles for alias in article.aliases}


def build_stream(name: str, pool: dict[str, list[str]], seed: int, *, bursts: int, gap: float, shared: bool) -> Stream:
    rng = random.Random(f"{name}:{seed}")
    left = {intent: rng.sample(texts, len(texts)) for intent, texts in pool.items()}
    burst_intents = rng.sample(sorted(i for i, t in left.items() if len(t) >= 5), bursts)
    background = sorted(left) if shared else sorted(set(left) - set(burst_intents))
    events: list[tuple[float, str, str, int | None]] = []  # (second, customer, text, burst)
    # a day, or as long as the split's background utterances last at this rate (BANKING77 val: ~10 h)
    spare = sum(len(left[i]) for i in background) - (30 * bursts if shared else 0)
    span = min(DAY, 0.9 * gap * spare)
    # bursts first, so their utterances are taken before the background uses the shared intents
    previous_start = None
    for b, intent in enumerate(burst_intents):
        size = min(rng.randint(5, 30), len(left[intent]))
        length = rng.uniform(5, 20) * 60
        if b % 2 == 1 and previous_start is not None:
            start = previous_start + rng.uniform(0, 300)  # overlaps the burst before it
        else:
            start = rng.uniform(0, span - length)
        previous_start = start
        for k in range(size):
            events.append((start + rng.uniform(0, length), f"b{b}-c{k}", left[intent].pop(), b))
    second = rng.expovariate(1 / gap)
    while second < span:
        remaining = [i for i in background if left[i]]
        if not remaining:
            break
        intent = rng.choice(background)
        while not left[intent]:
            intent = rng.choice(remaining)
        events.append((second, f"c{rng.randrange(400)}", left[intent].pop(), None))
        second += rng.expovariate(1 / gap)
    events.sort(key=lambda e: e[0])
    reports, gold = [], {}
    for n, (sec, customer, text, burst) in enumerate(events):
        rid = f"m{n}"
        reports.append(Report(id=rid, at=START + timedelta(seconds=sec), customer=customer, text=text))
        if burst is not None:
            gold[rid] = burst
    return Stream(f"{name}-{seed}", reports, gold)


def score(stream: Stream, result: dict[str, Any]) -> dict[str, float]:
    cluster: dict[str, int] = {}
    detected_at: dict[int, datetime] = {}
    for incident in result["incidents"]:
        for rid in incident["members"]:
            cluster[rid] = incident["id"]
        detected_at[incident["id"]] = datetime.fromisoformat(incident["detected_at"])
    members: dict[int, list[str]] = defaultdict(list)
    for rid, c in cluster.items():
        members[c].append(rid)
    bursts: dict[int, list[str]] = defaultdict(list)
    for rid, b in stream.gold.items():
        bursts[b].append(rid)
    at = {r.id: r.at for r in stream.reports}
    precision = [
        sum(1 for o in members[cluster[r]] if r in stream.gold and stream.gold.get(o) == stream.gold[r])
        / len(members[cluster[r]])
        for r in cluster
    ]
    recall = [
        (sum(1 for o in members[cluster[r]] if stream.gold.get(o) == b) if r in cluster else 1) / len(bursts[b])
        for r, b in stream.gold.items()
    ]
    delays = []
    for ids in bursts.values():
        moments = [detected_at[cluster[r]] for r in ids if r in cluster]
        if moments:
            first = min(moments)
            delays.append(sum(1 for r in ids if at[r] <= first))
    return {
        "precision": statistics.fmean(precision) if precision else 1.0,
        "recall": statistics.fmean(recall),
        "detected": len(delays) / len(bursts),
        "delay": statistics.median(delays) if delays else float("nan"),
        "linked_background": sum(1 for r in cluster if r not in stream.gold),
        "incidents": len(result["incidents"]),
        "reports": len(stream.reports),
    }


def oracle_detection(stream: Stream, at: int) -> Callable[..., Any]:
    """A stand-in for `incident_detection._detect` that knows the labels: a burst's incident opens at its
    `at`-th report, with exactly its reports not linked yet, and background reports never make one. Joining,
    the group check and everything after detection are the product's own; this measures them alone."""
    burst_of = {r.text: stream.gold.get(r.id) for r in stream.reports}
    seen: dict[int, list[int]] = defaultdict(list)

    async def detect(ctx: Any, uow: Any, ticket: Any, report: Any, rule: Any) -> Any:
        burst = burst_of.get(ticket.description)
        if burst is None or len(seen[burst]) >= at:
            return None
        seen[burst].append(ticket.number)
        if len(seen[burst]) < at:
            return None
        members = [
            await uow.tickets.get_ticket(n) for n in seen[burst] if await uow.incidents.incident_of_ticket(n) is None
        ]
        incident = await incident_detection.open_incident(
            ctx, uow, ticket.subject, members, source="auto", tell={ticket.number}
        )
        return incident_detection.Joined(incident, None)

    return detect


def run(
    streams: Sequence[Stream], thresholds: dict[str, Any], *, oracle: int | None = None, kb: Path | None = None
) -> tuple[dict[str, float], float, float]:
    settings = settings_from_dict({"incidents": thresholds, **({"kb": {"path": str(kb)}} if kb else {})}, {})
    rows = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    detect = incident_detection._detect
    for stream in streams:
        if oracle is not None:
            incident_detection._detect = oracle_detection(stream, oracle)
        try:
            rows.append(score(stream, asyncio.run(replay(settings, stream.reports))))
        finally:
            incident_detection._detect = detect
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    total = {k: statistics.fmean(r[k] for r in rows) for k in rows[0] if k != "delay"}
    total["delay"] = statistics.median(r["delay"] for r in rows)
    return total, cpu, wall


def _memoized(load: Callable[[], semantic.MiniLMEmbedder]) -> Callable[[], Any]:
    class Memo:
        def __init__(self) -> None:
            self.model = load()
            self.known: dict[str, Any] = {}

        def encode(self, texts: Sequence[str]) -> Any:
            missing = [t for t in dict.fromkeys(texts) if t not in self.known]
            if missing:
                self.known.update(zip(missing, self.model.encode(missing), strict=True))
            return np.array([self.known[t] for t in texts])

    return Memo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("train", "val"), default="val")
    parser.add_argument("--datasets", default="clinc150,banking77")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--bursts", type=int, default=8)
    parser.add_argument("--gap", type=float, default=60.0, help="mean seconds between background reports")
    parser.add_argument("--shared-intents", action="store_true")
    parser.add_argument("--similarity", help="a value, or several (comma-separated) to sweep")
    parser.add_argument("--join-similarity", help="a value, or several (comma-separated) to sweep")
    parser.add_argument("--min-reports", type=int)
    parser.add_argument("--join-window")
    parser.add_argument("--window")
    parser.add_argument("--semantic", action="store_true", help="fuse MiniLM embeddings ([incidents] semantic)")
    parser.add_argument("--semantic-weight", type=float, help="share of the embedding similarity (tuning only)")
    parser.add_argument(
        "--noise-quantile", type=float, help="quantile of a report's similarity to the sample that is its noise level"
    )
    parser.add_argument("--noise-sample", type=int, help="background reports a noise level is read from (tuning only)")
    parser.add_argument(
        "--surprise", type=float, help="how rare a window's count of look-alikes must be to be an outage (tuning only)"
    )
    parser.add_argument(
        "--subject-lift",
        type=float,
        help="lift from which a report the KB recognises as an incident's article joins it (kb_topics; tuning only)",
    )
    parser.add_argument(
        "--memo", action="store_true", help="encode each text once for all runs (sweeps; CPU then leaves encoding out)"
    )
    parser.add_argument(
        "--oracle", type=int, metavar="K", help="detect each burst at its K-th report from the labels (diagnosis only)"
    )
    parser.add_argument(
        "--kb",
        metavar="K|sample",
        help="[incidents] kb_topics on, with the desk's KB: one article per intent, K `train` utterances as "
        "aliases (EVALUATION.md; those utterances leave the streams), or the bundled sample KB (unrelated)",
    )
    parser.add_argument("--write", type=Path, help="also write each stream as JSON Lines into this folder")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    streams: list[Stream] = []
    kb_dirs: dict[str, Path] = {}
    for name in args.datasets.split(","):
        pool = clinc_split(args.split) if name == "clinc150" else banking_split(args.split)
        if args.kb == "sample":
            kb_dirs[name] = REPO / "kb" / "sample"
        elif args.kb:
            kb_dirs[name], aliases = desk_kb(name, int(args.kb))
            pool = {intent: [t for t in texts if t not in aliases] for intent, texts in pool.items()}
        for seed in seeds:
            streams.append(
                build_stream(
                    f"{name}-{args.split}", pool, seed, bursts=args.bursts, gap=args.gap, shared=args.shared_intents
                )
            )
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for stream in streams:
            path = args.write / f"{stream.name}.jsonl"
            with path.open("w", encoding="utf-8") as handle:
                for r in stream.reports:
                    row = {
                        "id": r.id,
                        "at": r.at.isoformat().replace("+00:00", "Z"),
                        "customer": r.customer,
                        "text": r.text,
                    }
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            (args.write / f"{stream.name}.gold.json").write_text(json.dumps(stream.gold), encoding="utf-8")
        for name, folder in kb_dirs.items():  # the desk's KB and a config that reads it, for the CLI
            shutil.copytree(folder, args.write / f"{name}-kb", dirs_exist_ok=True)
            (args.write / f"{name}.toml").write_text(
                f'[kb]\npath = "{name}-kb"\n\n[incidents]\nsemantic = {str(args.semantic).lower()}\nkb_topics = true\n',
                encoding="utf-8",
            )
    base: dict[str, Any] = {"semantic": args.semantic, "kb_topics": bool(args.kb)}
    if args.semantic_weight is not None:
        grouping.SEMANTIC_WEIGHT = args.semantic_weight
    if args.noise_quantile is not None:
        grouping.NOISE_QUANTILE = args.noise_quantile
    if args.noise_sample is not None:
        grouping.NOISE_SAMPLE = args.noise_sample
    if args.surprise is not None:
        incident_detection.SURPRISE = args.surprise
    if args.subject_lift is not None:
        incident_detection.SUBJECT_LIFT = args.subject_lift
    for key, value in (
        ("min_reports", args.min_reports),
        ("join_window", args.join_window),
        ("window", args.window),
    ):
        if value is not None:
            base[key] = value
    n_reports = sum(len(s.reports) for s in streams)
    print(
        f"{args.split} streams: {len(streams)} ({args.datasets}; seeds {args.seeds}; {args.bursts} bursts/day; "
        f"background every {args.gap:g}s; shared intents {args.shared_intents}); {n_reports} reports, "
        f"{sum(len(s.gold) for s in streams)} in bursts"
    )
    sweep = [
        [(key, float(v)) for v in values.split(",")]
        for key, values in (("similarity", args.similarity), ("join_similarity", args.join_similarity))
        if values
    ]
    grid = [dict(base, **dict(chosen)) for chosen in itertools.product(*sweep)]
    if args.memo:
        semantic.load_embedder = _memoized(semantic.load_embedder)
    if args.semantic:  # the model loads once, before the clock starts
        incident_embedder(settings_from_dict({"incidents": base}, {}))
    print(
        "| dataset | semantic | KB aliases | min reports | window | similarity | join | join window | precision | "
        "recall | bursts detected | median reports to detect | background linked / stream | CPU ms per report |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for thresholds in grid:
        for name in args.datasets.split(","):
            chosen = [s for s in streams if s.name.startswith(name)]
            total, cpu, _ = run(chosen, thresholds, oracle=args.oracle, kb=kb_dirs.get(name))
            shown = settings_from_dict({"incidents": thresholds}, {}).incidents.resolved(False)
            print(
                f"| {name} | {'on' if shown.semantic else 'off'} | {args.kb or '-'} | {shown.min_reports} | "
                f"{shown.window} | {shown.similarity:g} | {shown.join_similarity:g} | {shown.join_window} | "
                f"{total['precision']:.3f} | "
                f"{total['recall']:.3f} | {total['detected']:.2f} | {total['delay']:g} | "
                f"{total['linked_background']:.1f} | {1000 * cpu / sum(len(s.reports) for s in chosen):.2f} |",
                flush=True,
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
