"""KB suggestion benchmark: latency, build time and memory as the KB grows (not a timed test).

The BANKING77 KB (77 articles, title + 20 aliases each, seed 0) is padded with distractor articles to
10,000 and 100,000 articles. A distractor's 20 aliases are real CLINC150 utterances with about a third of
their words swapped for random words of the same corpus, so word frequencies (and with them the length
of the BM25 posting lists for "my", "card", …) look like a real support KB rather than random noise.

Measured per size: index build time, process RSS after the build (and the peak), `suggest()` latency
p50/p99 warm over ≥ 1,000 calls cycling through the BANKING77 dev queries (in-scope and out-of-scope),
and hit@1 on the in-scope dev queries, to show that neither the padding nor the prefilter loses answers.

    python bench/kb.py [--data DIR] [--sizes 100,10000,100000] [--calls 1000] [--semantic]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import resource
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

# Run as `python bench/kb.py`, this file's folder comes first on sys.path and its name would hide the
# `kb` package; drop it so `kb` means the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.modules.pop("kb", None)

import numpy as np  # noqa: E402
import rapidfuzz  # noqa: E402

from kb.article import Article  # noqa: E402
from kb.datasets import Query, banking77_dataset, load_clinc  # noqa: E402
from kb.evaluation import hit_at, latency, percentile, rank_queries  # noqa: E402
from kb.matcher import Embedder, FloatArray, Matcher, Scoring  # noqa: E402

ALIASES = 20


def rss_mib() -> float:
    """Resident memory of this process now (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def distractors(count: int, clinc_dir: Path, *, seed: int = 0) -> list[Article]:
    data, _ = load_clinc(clinc_dir)
    sentences = [text for text, _ in data["train"]] + [text for text, _ in data["oos_train"]]
    vocabulary = sorted({word for sentence in sentences for word in sentence.split()})
    rng = random.Random(seed)
    articles = []
    for number in range(count):
        aliases = []
        for _ in range(ALIASES):
            words = rng.choice(sentences).split()
            aliases.append(" ".join(rng.choice(vocabulary) if rng.random() < 0.33 else w for w in words))
        title = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 4))).capitalize()
        articles.append(Article(id=f"distractor-{number:06d}", title=title, aliases=tuple(aliases)))
    return articles


class PooledEmbedder:
    """MiniLM for the BANKING77 articles and for every query; distractor texts borrow real embeddings.

    Embedding 200k distractor aliases on two CPU cores takes over half an hour and measures nothing the
    benchmark is about: a query costs one model call plus a product with the centroid matrix, whatever
    the centroids hold. So each distractor text gets one of 2,000 real MiniLM embeddings of CLINC
    sentences (picked by a hash of the text); queries and the real KB go through the model. Build times
    with --semantic are therefore not the real ones and are not reported.
    """

    def __init__(self, real: Embedder, padding: list[Article], clinc_dir: Path) -> None:
        self._real = real
        self._fake = {text for article in padding for text in (article.title, *article.aliases)}
        data, _ = load_clinc(clinc_dir)
        self._pool = real.encode([text for text, _ in data["train"][::7][:2_000]])

    def encode(self, texts: Sequence[str]) -> FloatArray:
        out = np.empty((len(texts), self._pool.shape[1]), dtype=np.float32)
        real = [i for i, text in enumerate(texts) if text not in self._fake]
        if real:
            out[real] = self._real.encode([texts[i] for i in real])
        for i, text in enumerate(texts):
            if text in self._fake:
                out[i] = self._pool[zlib.crc32(text.encode()) % len(self._pool)]
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--semantic", action="store_true", help="fuse MiniLM embeddings (needs .[semantic])")
    parser.add_argument(
        "--compare", type=int, default=100, help="in-scope queries also ranked by a full scan (sizes ≤ 10k; 0: off)"
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    clinc = args.data / "clinc150"
    base = banking77_dataset(args.data / "banking77" / "train.csv", clinc, k=ALIASES)
    texts = [query.text for query in base.queries]
    rng = random.Random(0)
    rng.shuffle(texts)  # interleave in-scope and out-of-scope queries
    padding = distractors(max(sizes) - len(base.articles), clinc)
    embedder: Embedder | None = None
    if args.semantic:
        from kb.semantic import load_embedder

        embedder = PooledEmbedder(load_embedder(), padding, clinc)
    scoring = Scoring()
    print(f"rapidfuzz {rapidfuzz.__version__}; BANKING77 K={ALIASES} seed 0 padded with distractors; {scoring}")
    print(f"semantic: {'MiniLM-L6' if embedder else 'off'}; {args.calls} warm suggest() calls per size")
    for size in sizes:
        articles = list(base.articles) + padding[: max(0, size - len(base.articles))]
        gc.collect()
        start = time.perf_counter()
        matcher = Matcher(articles, scoring=scoring, embedder=embedder)
        build = time.perf_counter() - start
        speed = latency(matcher, texts, calls=args.calls)
        shown_build = build if embedder is None else math.nan
        hit1 = hit_at(rank_queries(matcher, [q for q in base.queries if q.gold is not None], depth=1), 1)
        print(
            f"{len(articles):>7} articles: build {shown_build:6.1f} s"
            f"  RSS {rss_mib():6.0f} MiB (peak {peak_rss_mib():.0f})"
            f"  suggest p50 {speed.p50_ms:6.2f} ms  p99 {speed.p99_ms:6.2f} ms  dev hit@1 {hit1:.3f}",
            flush=True,
        )
        if args.compare and len(articles) <= 10_000:
            compare(matcher, articles, [q for q in base.queries if q.gold is not None][: args.compare], embedder)
        del matcher


def compare(matcher: Matcher, articles: list[Article], queries: list[Query], embedder: Embedder | None) -> None:
    """How often the prefiltered ranking agrees with scoring every article (the slow truth)."""
    full = Matcher(articles, scoring=replace(matcher.scoring, candidates=len(articles)), embedder=embedder)
    same, times = 0, []
    for query in queries:
        start = time.perf_counter()
        truth = [hit.article.id for hit in full.rank(query.text)[:3]]
        times.append((time.perf_counter() - start) * 1000)
        same += truth == [hit.article.id for hit in matcher.rank(query.text)[:3]]
    fast, slow = rank_queries(matcher, queries, depth=1), rank_queries(full, queries, depth=1)
    print(
        f"         full scan on {len(queries)} queries: same top-3 {same / len(queries):.3f}"
        f"  hit@1 {hit_at(slow, 1):.3f} (prefilter {hit_at(fast, 1):.3f})"
        f"  p50 {percentile(times, 50):.0f} ms  p99 {percentile(times, 99):.0f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()
