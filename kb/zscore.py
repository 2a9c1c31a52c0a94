"""Z-scored similarity: how far a similarity stands above a report's usual similarity to ordinary traffic, in
units of how much that usual similarity varies.

`kb.grouping` judges a pair of reports by its *lift* over each report's noise level. With `lift = "z"`, the
noise level is a report's mean similarity to the background sample and its spread their standard deviation:

    z_a(s) = (s − mean_a) / max(std_a, MIN_STD)        pair:  min(z_a(s), z_b(s))

— the pair counts only as far as it stands out for *both* reports (as the 95th-percentile lift takes the
noisier report's level). A report that resembles everything a little (a card desk's "my card is not working")
has a high mean; one whose similarities swing widely (a short text that is either a near-duplicate or
nothing) has a large spread, and needs a larger similarity to stand out. Pure arithmetic, no state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MIN_STD = 1.0
"""Spreads below this (in similarity points, 0..100) count as this: a report alike with nothing in the sample
(all zeros) would otherwise make any similarity an infinite z."""


@dataclass(frozen=True, slots=True)
class Spread:
    """A report's similarity to ordinary traffic: the mean and the (population) standard deviation."""

    mean: float
    std: float

    @classmethod
    def of(cls, similarities: FloatArray) -> Spread:
        """The spread of `similarities` (at least one value); the standard deviation floored at `MIN_STD`."""
        if len(similarities) == 0:
            raise ValueError("a spread needs at least one similarity")
        return cls(float(np.mean(similarities)), max(MIN_STD, float(np.std(similarities))))

    def z(self, similarity: float) -> float:
        """How many standard deviations `similarity` stands above the mean."""
        return (similarity - self.mean) / self.std


def pair_z(similarity: float, a: Spread, b: Spread) -> float:
    """The pair's z: the smaller of the two reports' (it must stand out for both)."""
    return min(a.z(similarity), b.z(similarity))


def pair_zs(similarities: FloatArray, mine: Spread, means: FloatArray, stds: FloatArray) -> FloatArray:
    """`pair_z` of `similarities[i]` between one report (`mine`) and the i-th other (`means[i]`, `stds[i]`), all
    at once. Monotone in each similarity, so an upper bound of a similarity gives an upper bound of its z."""
    theirs: FloatArray = (similarities - means) / stds
    return np.minimum((similarities - mine.mean) / mine.std, theirs)
