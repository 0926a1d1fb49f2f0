"""The operation bars of a timeline, each with hover text that says what it is made of.

A lane is a row of time buckets, each holding the worst level of the operations in progress
then (:mod:`harness.report.timeline_model`). A run of equal buckets is drawn as one bar, a
``<rect>`` with an SVG ``<title>``: hover it and the browser shows

* for a bar that is one operation: its process, operation and job, start and end time, the
  time it spent in the store, and how it ended (with the error, or the check's words for an
  operation judged wrong);
* for a bar of several: how many operations began in it and when, and the same detail for the
  slowest of them at the bar's level (the slowest *failed* one in a pink bar, since that is the
  one the colour is about).

The bars of one level share a ``<g>`` that holds their colour and class (``mark ops-ok``...), so
each bar costs only its geometry and its words.

>>> from harness.history.log import Operation
>>> op = Operation("writer-0", "save", "j1", "fail", None, None, 1.2, 1.25, "OSError: EIO", 9)
>>> describe_operation(op)
'op #9 writer-0 save(j1), 1.200 s to 1.250 s, 50 ms, fail: OSError: EIO'
"""

from __future__ import annotations

from harness.history.log import Operation
from harness.report.svg import Scale, element, format_number, tooltip
from harness.report.timeline_model import (
    IDLE,
    LANE_HEIGHT,
    LEVEL_COLORS,
    LEVEL_NAMES,
    PROBLEM_LEVEL,
    Lane,
    Timeline,
)


def lane_runs(timeline: Timeline, scale: Scale, row: dict[str, float]) -> list[str]:
    """One ``<g>`` per level, holding a titled ``<rect>`` for every run of equal buckets."""
    if not timeline.lanes:
        return []
    bucket_px = (scale.end - scale.start) / max(len(timeline.lanes[0].levels), 1)
    bars: dict[int, list[str]] = {}
    for lane in timeline.lanes:
        y = row[lane.name]
        start = 0
        for index in range(1, len(lane.levels) + 1):
            if index < len(lane.levels) and lane.levels[index] == lane.levels[start]:
                continue
            level = lane.levels[start]
            if level != IDLE:
                words = describe_run(lane, start, index, bucket_px, scale, timeline.judged)
                bars.setdefault(level, []).append(
                    element(
                        "rect",
                        tooltip(words),
                        x=scale.start + start * bucket_px,
                        y=round(y),
                        width=max((index - start) * bucket_px, 1.0),
                        height=LANE_HEIGHT,
                    )
                )
            start = index
    return [
        element(
            "g",
            "".join(bars[level]),
            class_=f"mark ops-{LEVEL_NAMES[level][0]}",
            fill=LEVEL_COLORS[level],
        )
        for level in sorted(bars)
    ]


def describe_run(
    lane: Lane, first: int, end: int, bucket_px: float, scale: Scale, judged: dict[int, str]
) -> str:
    """The hover text of the bar made of buckets ``first`` to ``end`` (excluded) of ``lane``."""
    level = lane.levels[first]
    slowest = [op for op in lane.slowest[first:end] if op is not None]
    worst = max(slowest, key=lambda op: op.latency, default=None)
    began = sum(lane.started[first:end]) if lane.started else 0
    kind = LEVEL_NAMES[level][1]
    if worst is None:
        return f"{lane.name}: {kind}"
    detail = describe_operation(worst)
    if worst.index in judged:
        detail += f"; judged wrong: {judged[worst.index]}"
    if began <= 1 and all(op is worst for op in slowest):  # the bar is this one operation
        return f"{lane.name}: {detail}"
    since, until = _time(scale, first, bucket_px), _time(scale, end, bucket_px)
    ops = f"{began} operation{'s' if began != 1 else ''} began"
    slowest_of = "slowest" if level != PROBLEM_LEVEL else "slowest judged wrong"
    return (
        f"{lane.name}: {ops} from {since:.3f} s to {until:.3f} s ({kind}); {slowest_of}: {detail}"
    )


def describe_operation(op: Operation) -> str:
    """One operation for a tooltip: who, what, from when to when, how long, how it ended."""
    what = f"{op.f}({op.job})" if op.job else op.f
    ended = op.type + (f": {op.error}" if op.error else "")
    latency = format_number(round(op.latency * 1000, 3))
    return (
        f"op #{op.index} {op.process} {what}, {op.start:.3f} s to {op.end:.3f} s, "
        f"{latency} ms, {ended}"
    )


def _time(scale: Scale, bucket: int, bucket_px: float) -> float:
    """The time at the left edge of ``bucket``."""
    fraction = bucket * bucket_px / ((scale.end - scale.start) or 1.0)
    return scale.low + fraction * (scale.high - scale.low)
