"""CPU per `Matcher.suggest()` call on the bundled sample KB (kb/sample, 18 articles), warm.

The queries (`--queries mixed`, the default) are the intake benchmark's phrases, the sample KB's own titles
and aliases, and (when the CLINC150 folder is there) its `val` and `oos_val` utterances, cycled in a fixed
shuffled order; `--queries intake` cycles through the intake benchmark's ten phrases only. CPU time
(`time.process_time`) is reported, not wall time, so a loaded machine inflates the figure less; each
repeat times `--calls` calls and the best and median repeat are printed.

    .venv/bin/python bench/kb_suggest.py [--queries mixed|intake] [--calls 5000] [--repeats 5] [--data DIR]
                                         [--profile] [--json]

`--profile` runs the calls once under cProfile instead and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

# Run as `python bench/kb_suggest.py`, this file's folder comes first on sys.path (bench/kb.py would hide
# the `kb` package); drop it so `kb` means the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.modules.pop("kb", None)

from kb.datasets import DatasetError, load_clinc  # noqa: E402
from kb.loader import load_directory  # noqa: E402
from kb.matcher import Matcher  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHRASES = [
    "I can't log in to my account",
    "How do I get a refund for last month?",
    "the export to csv is empty",
    "my card was declined when upgrading",
    "is flowboard down? nothing loads",
    "how do I invite my team",
    "lost my phone with the authenticator app",
    "the mobile app does not sync my boards",
    "please delete my account and all data",
    "where do I find my invoices",
]


def queries(matcher: Matcher, data: Path, kind: str) -> list[str]:
    texts = list(PHRASES)
    if kind == "intake":
        return texts
    texts += [text for article in matcher.articles for text in (article.title, *article.aliases)]
    try:
        clinc, _ = load_clinc(data / "clinc150")
        texts += [text for text, _ in clinc["val"][:1_000]] + [text for text, _ in clinc["oos_val"]]
    except DatasetError:
        pass
    random.Random(0).shuffle(texts)
    return texts


def cpu_ms_per_call(matcher: Matcher, texts: list[str], calls: int) -> float:
    start = time.process_time()
    for i in range(calls):
        matcher.suggest(texts[i % len(texts)])
    return (time.process_time() - start) * 1000 / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kb", type=Path, default=ROOT / "kb" / "sample")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--queries", choices=["mixed", "intake"], default="mixed")
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="run once under cProfile and print the top functions")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    matcher = Matcher(load_directory(args.kb).articles)
    texts = queries(matcher, args.data, args.queries)
    cpu_ms_per_call(matcher, texts, min(args.calls, 500))  # warm: caches, lazily imported code
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        cpu_ms_per_call(matcher, texts, args.calls)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    figures = [cpu_ms_per_call(matcher, texts, args.calls) for _ in range(args.repeats)]
    result = {
        "articles": len(matcher),
        "queries": args.queries,
        "distinct_queries": len(texts),
        "calls": args.calls,
        "repeats": args.repeats,
        "cpu_ms_per_call_best": round(min(figures), 4),
        "cpu_ms_per_call_median": round(statistics.median(figures), 4),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"sample KB ({result['articles']} articles), {args.queries} queries ({len(texts)} distinct),"
            f" {args.calls} calls × {args.repeats}:"
            f" suggest CPU {result['cpu_ms_per_call_best']:.3f} ms/call best,"
            f" {result['cpu_ms_per_call_median']:.3f} ms median"
        )


if __name__ == "__main__":
    main()
