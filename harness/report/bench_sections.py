"""The benchmark part of ``report.html``: one section per ``bench.json`` included.

:func:`bench_section` draws, for one :class:`~harness.results.BenchResults`, the targets table
(each target's figure, limit, value, verdict and margin), then its charts: latency per payload
(p50 to p99 per store, beside the floor it is judged against), throughput against processes,
latency against the number of jobs in the directory, where the time of one save goes, and
``recover()`` per job at start-up. Each part is drawn only when ``bench.json`` holds its data,
so a quick run gives a shorter section. :mod:`harness.report.html` places it on the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from harness.report import plots
from harness.report.markup import format_value, slug, table_row, tag, verdict_word
from harness.report.svg import esc
from harness.results import BenchFigure, BenchResults, BenchTarget


def bench_section(bench: BenchResults) -> str:
    """One bench run: its targets table, then each chart its ``bench.json`` has the data for."""
    name = bench.folder.name if bench.folder else "bench"
    prefix = "bench-" + slug(name)
    quick = " (quick)" if bench.quick else ""
    charts = [
        *_bench_latency(prefix, bench.figures),
        *_bench_scaling(prefix, bench.part("scaling")),
        *_bench_directory(prefix, bench.part("directory_size")),
        *_bench_breakdown(prefix, bench.part("breakdown")),
        *_bench_recover(prefix, bench.part("recover")),
    ]
    return tag("h3", esc(name) + quick) + _targets_table(bench.targets) + "".join(charts)


def _targets_table(targets: Sequence[BenchTarget]) -> str:
    rows = [
        table_row(("id", "target", "figure", "metric", "limit", "value", "verdict", "margin"), "th")
    ]
    for target in targets:
        rows.append(
            table_row(
                (
                    esc(target.id),
                    esc(target.title),
                    tag("code", esc(target.figure)),
                    esc(target.metric),
                    esc(format_value(target.limit)),
                    esc(format_value(target.value)),
                    verdict_word(target.passed),
                    esc(target.margin),
                )
            )
        )
    return tag("table", "".join(rows), class_="targets") if len(rows) > 1 else ""


def _bench_percentiles(figure: BenchFigure | None) -> plots.Percentiles | None:
    """A bench figure as percentiles in µs; None for a throughput or a figure with no median."""
    if figure is None or figure.unit not in ("us", "µs") or figure.p50_us is None:
        return None
    p50 = figure.p50_us
    p99 = figure.p99_us if figure.p99_us is not None else p50  # too few samples for a p99
    return plots.Percentiles(p50, p99, count=figure.samples)


def _bench_latency(prefix: str, figures: Mapping[str, BenchFigure]) -> list[str]:
    """Per operation: rows = payloads, series = stores and the floor they are judged against."""
    by_op: dict[str, dict[str, dict[str, plots.Percentiles]]] = {}
    for figure in figures.values():
        value = _bench_percentiles(figure)
        if value is None or not figure.store:
            continue  # a floor: drawn beside the figures that refer to it
        stores = by_op.setdefault(figure.op, {"floor": {}})
        stores.setdefault(figure.store, {})[figure.payload] = value
        if floor := _bench_percentiles(figures.get(figure.floor or "")):
            stores["floor"][figure.payload] = floor
    charts = []
    for op, stores in by_op.items():
        rows = sorted({p for values in stores.values() for p in values}, key=_payload_bytes)
        series = [
            plots.RangeSeries(store, values, "#777" if store == "floor" else "")
            for store, values in stores.items()
            if values
        ]
        title = f"{op}: p50 to p99 per payload"
        charts.append(
            plots.range_chart(f"{prefix}-latency-{slug(op)}", title, rows, series, unit="µs")
        )
    return charts


def _payload_bytes(payload: str) -> float:
    """``1k`` -> 1024, ``64k`` -> 65536, ``1m`` -> 1048576: payloads sorted by size.

    >>> sorted(["1m", "64k", "1k", "odd"], key=_payload_bytes)
    ['1k', '64k', '1m', 'odd']
    """
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)i?b?", payload.lower())
    if not match:
        return float("inf")
    return float(match.group(1)) * 1024 ** " kmg".index(match.group(2) or " ")


def _points(rows: Any, x: str, y: str) -> list[dict[str, Any]]:
    """The rows of a list that carry numbers under both ``x`` and ``y``."""
    return [
        row
        for row in rows or []
        if isinstance(row, dict)
        and isinstance(row.get(x), int | float)
        and isinstance(row.get(y), int | float)
    ]


def _bench_scaling(prefix: str, scaling: Mapping[str, Any]) -> list[str]:
    charts = []
    for mode, per_store in scaling.items():
        series = []
        for store, rows in (per_store or {}).items():
            if points := _points(rows, "processes", "ops_per_s"):
                notes = [
                    f"p50 {format_value(p.get('p50_us'))} µs" if "p50_us" in p else ""
                    for p in points
                ]
                xy = [(float(p["processes"]), float(p["ops_per_s"])) for p in points]
                series.append(plots.Series(store, xy, notes=notes))
        if series:
            title = f"throughput against processes: {mode}"
            charts.append(
                plots.line_chart(
                    f"{prefix}-scaling-{slug(mode)}",
                    title,
                    series,
                    x_label="processes",
                    y_label="ops/s",
                )
            )
    return charts


def _bench_directory(prefix: str, sizes: Mapping[str, Any]) -> list[str]:
    charts = []
    for field_name, op in (("save_p50_us", "save"), ("get_p50_us", "get")):
        series = [
            plots.Series(store, [(float(p["jobs"]), float(p[field_name])) for p in points])
            for store, rows in sizes.items()
            if (points := _points(rows, "jobs", field_name))
        ]
        if series:
            title = f"{op} p50 against jobs in the directory"
            charts.append(
                plots.line_chart(
                    f"{prefix}-directory-{op}",
                    title,
                    series,
                    x_label="jobs",
                    y_label="µs",
                    log_x=True,
                )
            )
    return charts


def _bench_breakdown(prefix: str, breakdown: Mapping[str, Any]) -> list[str]:
    bars = []
    for store, parts in breakdown.items():
        if not isinstance(parts, dict):
            continue
        pieces = [
            (name.removesuffix("_us"), float(value))
            for name, value in parts.items()
            if name.endswith("_us") and name != "total_us" and isinstance(value, int | float)
        ]
        total, counted = parts.get("total_us"), sum(value for _, value in pieces)
        if isinstance(total, int | float) and total > counted:
            pieces.append(("other", float(total) - counted))  # the time no step accounts for
        if pieces:
            bars.append((store, pieces))
    if not bars:
        return []
    title = "where the time of one save goes"
    return [plots.stacked_bar_chart(f"{prefix}-breakdown", title, bars, unit="µs")]


def _bench_recover(prefix: str, recover: Mapping[str, Any]) -> list[str]:
    bars = [
        (
            store,
            float(r["per_job_us"]),
            f"{r.get('jobs', '?')} jobs in {format_value(r.get('seconds'))} s",
        )
        for store, r in recover.items()
        if isinstance(r, dict) and isinstance(r.get("per_job_us"), int | float)
    ]
    if not bars:
        return []
    return [plots.bar_chart(f"{prefix}-recover", "recover() per job at start-up", bars, unit="µs")]
