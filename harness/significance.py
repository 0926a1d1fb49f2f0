"""Significance tests for A/B timings, in the standard library: is "new" really slower than "base"?

The A/B gate (:mod:`harness.gate.ab`) times the same operation of two versions of a store in
the same rounds, so every round gives a *pair* (base, new) that met the same disk state. Two
questions are asked of the pairs:

* **is the difference real?** :func:`wilcoxon_signed_rank` on the per-round log ratios
  ``log(new / base)``: a rank test, so a few rounds that a burst hit (one pair 30x) weigh no
  more than any other, and a paired one, so a disk that changes state mid-run moves both
  members of a pair and cancels. The p-value is the normal approximation with the tie
  correction and a continuity correction, good from a few dozen pairs on (the gate wants 20);
* **how big is it?** :func:`balanced_ratio`, the median of the per-round ratios taken
  separately for the rounds where each side went first (an order effect cancels), with
  :func:`bootstrap_ratio_ci`, a percentile bootstrap that resamples whole rounds, seeded so
  that a rerun on the same samples prints the same interval.

>>> median_ratio([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
2.0
>>> result = wilcoxon_signed_rank([0.1 * (i + 1) for i in range(30)])
>>> result.n, result.p_greater < 1e-5, result.p_less > 0.99
(30, True, True)
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SignedRank:
    """The Wilcoxon signed-rank test of paired differences: ``w_plus`` is the sum of the ranks
    of the positive differences; ``p_greater`` the one-sided p-value of "the differences are
    centred above zero", ``p_less`` of "below"."""

    n: int  # differences that are not zero (zeros carry no sign and are dropped)
    w_plus: float
    z: float
    p_greater: float
    p_less: float


def average_ranks(values: Sequence[float]) -> list[float]:
    """The 1-based ranks of ``values``, ties sharing the mean of their ranks.

    >>> average_ranks([10.0, 20.0, 10.0, 30.0])
    [1.5, 3.0, 1.5, 4.0]
    """
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def wilcoxon_signed_rank(differences: Sequence[float]) -> SignedRank:
    """The signed-rank test of ``differences`` (normal approximation, ties corrected).

    With no non-zero difference, both p-values are 1: nothing shows either way.
    """
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    if n == 0:
        return SignedRank(0, 0.0, 0.0, 1.0, 1.0)
    ranks = average_ranks([abs(d) for d in nonzero])
    w_plus = sum(rank for rank, d in zip(ranks, nonzero, strict=True) if d > 0)
    mean = n * (n + 1) / 4
    tie_groups: dict[float, int] = {}
    for rank in ranks:
        tie_groups[rank] = tie_groups.get(rank, 0) + 1
    tie_term = sum(t**3 - t for t in tie_groups.values()) / 48
    variance = n * (n + 1) * (2 * n + 1) / 24 - tie_term
    if variance <= 0:
        return SignedRank(n, w_plus, 0.0, 1.0, 1.0)
    sd = math.sqrt(variance)
    z = (w_plus - mean) / sd
    p_greater = _upper_tail((w_plus - mean - 0.5) / sd)
    p_less = _upper_tail((mean - w_plus - 0.5) / sd)
    return SignedRank(n, w_plus, z, min(1.0, p_greater), min(1.0, p_less))


def _upper_tail(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def median_ratio(base: Sequence[float], new: Sequence[float]) -> float:
    """The median over rounds of ``new[i] / base[i]``: how many times the new version's call
    costs the base's *in the same round*.

    Preferred to ``median(new) / median(base)``: on a disk that moves between a quiet and a busy
    state during the run each side's samples are bimodal, and a median that sits between the two
    modes moves a lot with a small change in how many samples fell in each; a pair's two calls
    are in the same state, so their ratio is not bimodal.

    >>> median_ratio([1.0, 10.0, 1.0], [1.2, 12.0, 1.1])
    1.2
    """
    return statistics.median(n / b for b, n in zip(base, new, strict=True))


def balanced_ratio(
    base: Sequence[float], new: Sequence[float], base_first: Sequence[bool]
) -> float:
    """:func:`median_ratio` with an order effect cancelled: the geometric mean of the median
    ratio of the rounds where base went first and of those where new did.

    Where the second call of a round pays for the first's work (a damaged read's repair), the
    ratios are about k * r in one order and r / k in the other; their median lands on either
    mode, while the geometric mean of the two is r. With one order only: the plain median.

    >>> round(balanced_ratio([1.0] * 4, [1.4, 1.4, 0.7, 0.7], [True, True, False, False]), 4)
    0.9899
    """
    firsts = [n / b for b, n, f in zip(base, new, base_first, strict=True) if f]
    seconds = [n / b for b, n, f in zip(base, new, base_first, strict=True) if not f]
    if not firsts or not seconds:
        return median_ratio(base, new)
    return math.sqrt(statistics.median(firsts) * statistics.median(seconds))


def bootstrap_ratio_ci(
    base: Sequence[float],
    new: Sequence[float],
    base_first: Sequence[bool] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile-bootstrap interval of :func:`balanced_ratio` (of :func:`median_ratio`
    without ``base_first``), resampling rounds, within each order.

    Seeded, so the same samples always give the same interval.

    >>> lo, hi = bootstrap_ratio_ci([1.0, 1.1, 0.9, 1.0] * 10, [2.0, 2.3, 1.8, 2.0] * 10)
    >>> 1.9 <= lo <= 2.0 <= hi <= 2.1
    True
    """
    if len(base) != len(new) or not base:
        raise ValueError("bootstrap_ratio_ci needs two samples of one equal, non-zero length")
    order = list(base_first) if base_first is not None else [True] * len(base)
    groups = [
        [n / b for b, n, f in zip(base, new, order, strict=True) if f == side]
        for side in (True, False)
    ]
    groups = [group for group in groups if group]
    rng = random.Random(seed)
    estimates = []
    for _ in range(resamples):
        medians = [statistics.median(rng.choices(group, k=len(group))) for group in groups]
        estimates.append(math.prod(medians) ** (1 / len(medians)))
    estimates.sort()
    tail = (1 - confidence) / 2
    return estimates[int(tail * (resamples - 1))], estimates[
        math.ceil((1 - tail) * (resamples - 1))
    ]
