"""The charts' own rules: the store scatter, compact axis labels, colours, a one-run trend."""

from __future__ import annotations

import doctest
import re

from harness.history.fault_windows import CALLS_FAIL, window_closed, window_opened
from harness.history.log import Record
from harness.report import (
    fault_shading,
    ordering,
    plots,
    scatter_section,
    svg,
    timeline_hover,
    trend_section,
)


def call(process: str, f: str, at: float, took: float, kind: str = "ok") -> list[Record]:
    return [
        Record(process, "invoke", f, "j0", None, at),
        Record(process, kind, f, "j0", None, at + took, elapsed=took),
    ]


def indexed(records: list[Record]) -> list[Record]:
    ordered = sorted(records, key=lambda record: record.time)
    return [
        Record(r.process, r.type, r.f, r.job, r.value, r.time, r.error, i, r.elapsed)
        for i, r in enumerate(ordered)
    ]


def test_the_scatter_draws_each_call_failures_as_crosses_and_shades_the_faults() -> None:
    opened = window_opened("full#1", CALLS_FAIL, errno="ENOSPC", label="disk full")
    records = [Record("nemesis", "invoke", "fill-disk", None, opened, 0.5)]
    records.append(Record("nemesis", "ok", "fill-disk", None, None, 0.5))
    records += [Record("nemesis", "invoke", "free-disk", None, window_closed("full#1"), 0.7)]
    records.append(Record("nemesis", "ok", "free-disk", None, None, 0.7))
    for n in range(10):
        records += call("writer-0", "save", 0.1 * n, 0.002, "fail" if n == 6 else "ok")
        records += call("reader-0", "get", 0.1 * n + 0.05, 0.0001)
    records += call("writer-0", "fds", 0.99, 0.0)  # bookkeeping: not a store call
    records = indexed(records)
    calls = scatter_section.store_calls(records)
    assert {op.f for op in calls} == {"save", "get"} and len(calls) == 20
    judged = next(op.index for op in calls if op.f == "get")
    chart, drawn = scatter_section.latency_scatter("lot", "t", records, calls, {judged: "stale"})
    assert drawn == 20
    assert chart.count('class="mark dots"') == 2  # one path per operation
    assert chart.count('class="mark failed fail"') == 1 and "save(j0)" in chart
    assert chart.count('class="mark judged"') == 1 and "stale" in chart
    assert chart.count('class="fault-window"') == 1 and "disk full" in chart
    table = scatter_section.spread_table(calls)
    assert "IQR" in table and re.search(r"<td>save</td><td>10</td><td>1</td>", table)


def test_a_long_scenario_is_thinned_but_keeps_every_failed_call() -> None:
    records = []
    for n in range(12_000):
        records += call(
            f"writer-{n % 4}", "save", n * 1e-4, 5e-5, "info" if n % 1000 == 7 else "ok"
        )
    records = indexed(records)
    calls = scatter_section.store_calls(records)
    chart, drawn = scatter_section.latency_scatter("lot", "t", records, calls, {})
    assert drawn == scatter_section.MAX_POINTS
    assert chart.count('class="mark failed info"') == 12  # every one of them
    assert len(chart) < 120_000
    again, _ = scatter_section.latency_scatter("lot", "t", records, calls, {})
    assert again == chart  # deterministic


def test_axis_labels_are_compact_and_the_margin_fits_them() -> None:
    scale = svg.Scale.fitted([0.0, 2_400_000.0], 200, 0)
    labels = [svg.compact_number(tick) for tick in scale.ticks()]
    assert "2.5M" in labels and not any("," in label for label in labels)
    longest = max(len(label) for label in labels)
    assert svg.y_axis_margin(scale) >= 5 + longest * svg.CHAR_WIDTH + 20
    chart = plots.line_chart(
        "big", "big", [plots.Series("x", [(1, 10.0), (2, 2_400_000.0)])], x_label="n", y_label="y"
    )
    assert "2,400,000" not in re.sub(r"<title>.*?</title>", "", chart)


def test_a_breakdown_of_more_than_eight_steps_has_distinct_colours() -> None:
    parts = [(f"step{n}", 1.0 + n) for n in range(12)]
    chart = plots.stacked_bar_chart("bd", "breakdown", [("hardened", parts)], unit="µs")
    fills = re.findall(r'<rect[^>]*fill="(#[0-9a-fA-F]{6})"', chart)
    assert len(fills) == 12 and len(set(fills)) == 12


def test_a_trend_of_one_run_shows_its_value() -> None:
    point = trend_section.TrendPoint(1.08, "abc1234 2026-11-28 on ci (this report)")
    chart = trend_section.trend_chart("t", "save.hardened.1k.ratio", [point], 0)
    assert ">1.08</text>" in chart and "no trend yet" in chart
    assert "<polyline" not in chart


def test_the_modules_examples_hold() -> None:
    for module in (fault_shading, ordering, scatter_section, svg, timeline_hover):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0
