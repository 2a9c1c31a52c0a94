"""The usual-rate check's arithmetic: Poisson tails, and the low end of a rate that a count leaves likely."""

from __future__ import annotations

import math

import pytest

from bot.services.incident_detection import _at_least, _tail


def test_tail_is_the_poisson_upper_tail() -> None:
    assert _tail(2.0, 0) == 1.0
    assert _tail(2.0, 1) == pytest.approx(1 - math.exp(-2))
    assert _tail(2.0, 2) == pytest.approx(1 - 3 * math.exp(-2))
    assert _tail(0.01, 3) == pytest.approx(0.01**3 / 6, rel=0.01)


def test_at_least_is_the_ten_percent_lower_bound() -> None:
    assert _at_least(0) == 0.0
    assert _at_least(1) == pytest.approx(-math.log(0.9), rel=1e-6)  # P(X ≥ 1 | m) = 1 − e^−m = 0.1
    for count in (2, 5, 20):
        assert _tail(_at_least(count), count) == pytest.approx(0.1, rel=1e-6)
