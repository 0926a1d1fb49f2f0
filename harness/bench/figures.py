"""Figures from samples: the bench.json record of one timed operation.

The ratio of a figure is the median, over rounds, of its sample divided by its floor's sample
*of the same round* (:func:`paired_median_ratio`): drifts slower than a round cancel in each
quotient, and the median ignores the rounds a burst hit anyway. That paired median is what
stays put from run to run, and what a gate should compare. It still moves when the *kind* of
load changes (a busy journal makes every fsync dearer, so an operation with one fsync gets
cheaper relative to a floor with two).

>>> round(paired_median_ratio([11, 22, 300, 12], [10, 20, 250, 10]), 4)
1.15
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.bench.rounds import Samples, TimedOperation
from harness.significance import median_ratio
from harness.stats import percentile


def paired_median_ratio(values: Sequence[float], floors: Sequence[float]) -> float | None:
    """The median over rounds of ``values[i] / floors[i]`` (None without usable pairs): the
    gate's :func:`~harness.significance.median_ratio`, on the rounds with a floor above 0."""
    pairs = [(f, v) for v, f in zip(values, floors, strict=False) if f > 0]
    if not pairs:
        return None
    return median_ratio([f for f, _ in pairs], [v for _, v in pairs])


def summarize(
    op: TimedOperation,
    values: Sequence[float],
    floors: Sequence[float] | None,
    others: dict[str, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """The bench.json record of one figure from its samples (seconds) and its floor's samples.

    ``others`` maps a record key of ``op.also_against`` (``ratio_minimal``) to that floor's
    samples; each becomes one more paired ratio in the record.
    """
    p50 = percentile(values, 50) * 1e6
    ratio = paired_median_ratio(values, floors) if op.floor and floors else None
    record: dict[str, Any] = {
        "value": round(p50, 1),
        "unit": "us",
        "p50_us": round(p50, 1),
        "p99_us": round(percentile(values, 99) * 1e6, 1),
        "samples": len(values),
        "floor": op.floor,
        "ratio": _rounded(ratio),
        "store": op.store,
        "op": op.op,
        "payload": op.payload,
    }
    for key, samples in (others or {}).items():
        record[key] = _rounded(paired_median_ratio(values, samples))
    return record


def summarize_all(
    operations: Sequence[TimedOperation], samples: Samples
) -> dict[str, dict[str, Any]]:
    """Figures for every operation that has samples, each paired with its floors' samples."""
    figures: dict[str, dict[str, Any]] = {}
    for op in operations:
        values = samples.get(op.figure)
        if not values:
            continue
        floors = samples.get(op.floor) if op.floor else None
        others = {key: samples[floor] for key, floor in op.also_against if samples.get(floor)}
        figures[op.figure] = summarize(op, values, floors, others)
    return figures


def _rounded(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio, 4)
