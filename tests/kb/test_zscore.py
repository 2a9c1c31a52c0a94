"""`kb.zscore` against values worked out by hand, and `kb.grouping` with `lift = "z"` against its own exact
computation: the vectorised similarities equal `score`'s, spreads are the sample's mean and standard deviation,
and `lifts_above` / `any_lift_above` put every pair on the side of the exact z."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from kb import grouping
from kb.zscore import MIN_STD, Spread, pair_z, pair_zs
from tests.kb.report_texts import traffic


def test_a_spread_is_the_mean_and_the_population_standard_deviation() -> None:
    spread = Spread.of(np.array([10.0, 20.0, 30.0, 40.0]))
    assert spread.mean == 25.0
    assert spread.std == pytest.approx(math.sqrt(125.0))  # deviations ±5, ±15: (25 + 25 + 225 + 225) / 4
    assert spread.z(25.0 + 2 * math.sqrt(125.0)) == pytest.approx(2.0)
    assert spread.z(25.0) == 0.0


def test_a_spread_that_does_not_vary_counts_as_min_std() -> None:
    flat = Spread.of(np.zeros(5))
    assert (flat.mean, flat.std) == (0.0, MIN_STD)
    assert flat.z(3.0) == 3.0 / MIN_STD
    with pytest.raises(ValueError, match="at least one"):
        Spread.of(np.array([]))


def test_a_pair_counts_as_far_as_it_stands_out_for_both() -> None:
    quiet, busy = Spread(10.0, 5.0), Spread(30.0, 4.0)
    assert pair_z(40.0, quiet, busy) == 2.5  # quiet: 6.0, busy: 2.5
    assert pair_z(40.0, busy, quiet) == 2.5
    found = pair_zs(np.array([40.0, 20.0]), quiet, np.array([30.0, 0.0]), np.array([4.0, 10.0]))
    assert found.tolist() == [2.5, 2.0]  # second: quiet 2.0, other (20 − 0) / 10 = 2.0


def _desk(background: list[str]) -> grouping.ReportSimilarity:
    return grouping.ReportSimilarity(background=background, lift="z")


def test_the_vectorised_similarities_are_scores_values() -> None:
    texts = traffic(240, 5, bursts=6)
    similarity = _desk(texts[:150])
    epoch = similarity._epoch
    for text in texts[150:170]:
        report = grouping.prepare(text)
        at = np.arange(epoch.sample_size)
        exact = [epoch.score(report, d) for d in epoch.sample.docs]
        assert epoch.exact(report, at) == pytest.approx(exact, abs=1e-9)


def test_a_spread_is_measured_against_the_sample_without_the_report_itself() -> None:
    texts = traffic(240, 6, bursts=6)
    similarity = _desk(texts[:150])
    sample = similarity._epoch.sample.docs
    member = sample[3]
    values = np.array([similarity.score(member, d) for d in sample if d.text != member.text])
    spread = similarity.spread(member)
    assert spread.mean == pytest.approx(float(values.mean()), abs=1e-9)
    assert spread.std == pytest.approx(max(MIN_STD, float(values.std())), abs=1e-9)
    assert similarity.lift_of(member, spread.mean + 3 * spread.std) == pytest.approx(3.0)


def test_a_young_desk_uses_the_default_spread() -> None:
    similarity = _desk([])
    report = grouping.prepare("the app crashes on login")
    assert similarity.spread(report) == grouping.DEFAULT_SPREAD


@pytest.mark.parametrize("seed", [0, 1])
def test_lifts_above_puts_every_pair_on_the_side_of_the_exact_z(seed: int) -> None:
    texts = traffic(330, seed, bursts=12)
    similarity = _desk(texts[:120])
    rng = random.Random(seed)
    seen: list[grouping.Prepared] = []
    alike = 0
    for text in texts[120:]:
        report = grouping.prepare(text)
        if seen:
            threshold = rng.choice([1.0, 2.0, 3.0, 4.0])
            others = seen[-40:]
            exact = similarity.lifts(report, others)
            bounded = similarity.lifts_above(report, others, threshold)
            assert [v >= threshold for v in bounded] == [v >= threshold for v in exact], text
            for value, truth in zip(bounded, exact, strict=True):
                assert value >= truth - 1e-9 if truth < threshold else value == pytest.approx(truth)
            assert similarity.any_lift_above(report, others, threshold) == (max(exact) >= threshold)
            alike += sum(v >= threshold for v in exact)
        similarity.observe(report)
        seen.append(report)
    assert alike  # the streams' bursts make some pairs alike
