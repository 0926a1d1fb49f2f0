"""The latency statistics: nearest-rank percentiles, the interquartile range, the ms summary."""

from __future__ import annotations

import doctest
import math

from harness import stats


def test_iqr_is_p75_minus_p25_by_nearest_rank_and_ignores_the_tail() -> None:
    values = [float(n) for n in range(1, 101)]  # 1 .. 100
    assert stats.iqr(values) == stats.percentile(values, 75) - stats.percentile(values, 25) == 50
    assert stats.iqr([*values[:-1], 1e9]) == 50  # one huge outlier: the same spread
    assert stats.iqr([5.0]) == 0.0
    assert math.isnan(stats.iqr([]))
    assert stats.iqr([4.0, 1.0, 3.0, 2.0]) == 2.0  # order does not matter


def test_summarize_ms_gives_the_quartiles_in_milliseconds() -> None:
    summary = stats.summarize_ms([0.001 * n for n in range(1, 101)])
    assert summary["count"] == 100
    assert (summary["p25_ms"], summary["p50_ms"], summary["p75_ms"]) == (25.0, 50.0, 75.0)
    assert summary["p99_ms"] == 99.0 and summary["max_ms"] == 100.0
    assert stats.summarize_ms([]) == {"count": 0}


def test_the_examples_hold() -> None:
    result = doctest.testmod(stats)
    assert result.failed == 0 and result.attempted > 0
