"""Small statistics for latency figures: percentiles by nearest rank, summaries in milliseconds.

A median says what a call usually costs and a p99 what its tail costs; the spread between them
is read from the interquartile range, p75 - p25: the width of the middle half of the calls,
which one slow outlier does not move (a standard deviation of latencies is mostly its tail).

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.0
>>> iqr([1.0, 2.0, 3.0, 4.0, 100.0])
2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``values`` (NaN for an empty sequence)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def iqr(values: Sequence[float]) -> float:
    """The interquartile range, p75 - p25 by nearest rank (NaN for an empty sequence)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return percentile(ordered, 75) - percentile(ordered, 25)


def summarize_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Count, p25, p50, p75, p95, p99 and max of durations given in seconds, in milliseconds."""
    if not seconds:
        return {"count": 0}
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "p25_ms": round(percentile(ordered, 25) * 1000, 4),
        "p50_ms": round(percentile(ordered, 50) * 1000, 4),
        "p75_ms": round(percentile(ordered, 75) * 1000, 4),
        "p95_ms": round(percentile(ordered, 95) * 1000, 4),
        "p99_ms": round(percentile(ordered, 99) * 1000, 4),
        "max_ms": round(ordered[-1] * 1000, 4),
    }
