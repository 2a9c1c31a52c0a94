"""Which way of judging a similarity against noise separates an outage's reports best — pair by pair, on the
replay streams of `bench/incidents.py` (needs the semantic extra: the fused score is what is judged).

Every report is compared, as detection compares it, with the earlier reports of the last 15 minutes from other
customers; a pair is true when both are reports of one burst. Each report's similarities to the noise sample
(`kb.grouping`'s, as of its arrival) give its noise levels: the 95th percentile (the lift detection uses), the
98th, the largest, and the mean and standard deviation (z). A pair's score on each scale is taken against the
noisier of its two reports (the smaller z).

Detection has ONE `similarity` threshold for every desk, so each scale is read at the threshold where the
larger of the two datasets' false-pair rates is f, and the table gives both datasets' true-pair rates there
(and, for comparison, with a threshold of each dataset's own, which no desk can choose).

    python bench/incident_pairs.py --split train --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/kb.py is not the kb package

from kb import grouping, semantic  # noqa: E402

_spec = importlib.util.spec_from_file_location("incident_streams", HERE / "incidents.py")
assert _spec is not None and _spec.loader is not None
streams = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = streams  # its dataclasses look their module up
_spec.loader.exec_module(streams)  # the replay streams, built exactly as bench/incidents.py builds them

FloatArray = npt.NDArray[np.float64]
WINDOW_SECONDS = 15 * 60
RATES = (0.001, 0.003, 0.01)
LEVELS = ("p95", "p98", "max", "mean", "std")


def _levels(values: FloatArray) -> tuple[float, ...]:
    """A report's noise levels from its similarities to the sample (the quantile as `kb.grouping` takes it)."""
    ordered = np.sort(values)
    m = len(ordered)
    return (
        float(ordered[min(m - 1, int(0.95 * m))]),
        float(ordered[min(m - 1, int(0.98 * m))]),
        float(ordered[-1]),
        float(ordered.mean()),
        max(1.0, float(ordered.std())),
    )


def pairs(stream: Any, embedder: semantic.MiniLMEmbedder) -> tuple[FloatArray, FloatArray]:
    """(true?, fused similarity, both reports' noise levels) per pair of the stream, after a full sample."""
    similarity = grouping.ReportSimilarity(embedder=embedder)
    prepared = [grouping.prepare(r.text) for r in stream.reports]
    levels: dict[str, tuple[float, ...]] = {}
    rows: list[tuple[float, ...]] = []
    for i, report in enumerate(stream.reports):
        sample = similarity._epoch.sample.docs  # the sample of the moment, as detection measures noise
        if len(sample) >= grouping.NOISE_SAMPLE:
            p = prepared[i]
            if p.text not in levels:
                levels[p.text] = _levels(np.array([similarity.score(p, d) for d in sample if d.text != p.text]))
            j = i - 1
            while j >= 0 and (report.at - stream.reports[j].at).total_seconds() <= WINDOW_SECONDS:
                other = stream.reports[j]
                if other.customer != report.customer and prepared[j].text in levels:
                    burst = stream.gold.get(report.id)
                    true = burst is not None and burst == stream.gold.get(other.id)
                    s = similarity.score(prepared[i], prepared[j])
                    rows.append((float(true), s, *levels[prepared[i].text], *levels[prepared[j].text]))
                j -= 1
        similarity.observe(prepared[i])
    found = np.array(rows)
    return found[:, 0] > 0.5, found[:, 1:]


Scale = Callable[[FloatArray], FloatArray]


def _lift(level: int) -> Scale:
    def scale(x: FloatArray) -> FloatArray:
        found: FloatArray = x[:, 0] - np.maximum(x[:, 1 + level], x[:, 6 + level])
        return found

    return scale


def _z(x: FloatArray) -> FloatArray:
    mean, std = LEVELS.index("mean"), LEVELS.index("std")
    found: FloatArray = np.minimum(
        (x[:, 0] - x[:, 1 + mean]) / x[:, 1 + std], (x[:, 0] - x[:, 6 + mean]) / x[:, 6 + std]
    )
    return found


SCALES: dict[str, Scale] = {
    "lift over the 95th percentile (detection's)": _lift(0),
    "lift over the 98th percentile": _lift(1),
    "lift over the largest": _lift(2),
    "z (the smaller of the two)": _z,
}


def _threshold(values: FloatArray, true: npt.NDArray[np.bool_], rate: float) -> float:
    negatives = np.sort(values[~true])
    return float(negatives[min(len(negatives) - 1, int((1 - rate) * len(negatives)))])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("train", "val"), default="train")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args(argv)
    embedder = semantic.load_embedder()
    data: dict[str, tuple[npt.NDArray[np.bool_], FloatArray]] = {}
    for name in ("clinc150", "banking77"):
        pool = streams.clinc_split(args.split) if name == "clinc150" else streams.banking_split(args.split)
        found = [
            pairs(
                streams.build_stream(f"{name}-{args.split}", pool, int(seed), bursts=8, gap=60.0, shared=False),
                embedder,
            )
            for seed in args.seeds.split(",")
        ]
        data[name] = (np.concatenate([t for t, _ in found]), np.concatenate([x for _, x in found]))
        print(f"{name} {args.split}: {int(data[name][0].sum())} true pairs, {int((~data[name][0]).sum())} others")
    print("| scale | false-pair rate f | one threshold: true-pair rate CLINC150 / BANKING77 | own thresholds |")
    print("|---|---|---|---|")
    for label, scale in SCALES.items():
        values = {name: scale(x) for name, (_, x) in data.items()}
        for rate in RATES:
            own = {name: _threshold(values[name], true, rate) for name, (true, _) in data.items()}
            shared = max(own.values())
            one = " / ".join(f"{(values[n][t] > shared).mean():.3f}" for n, (t, _) in data.items())
            each = " / ".join(f"{(values[n][t] > own[n]).mean():.3f}" for n, (t, _) in data.items())
            print(f"| {label} | {rate:.1%} | {one} | {each} |")


if __name__ == "__main__":
    main()
