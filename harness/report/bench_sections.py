"""The benchmark part of ``report.html``: one section per ``bench.json`` included.

:func:`bench_section` draws, for one :class:`~harness.report.runs.BenchRun`, the targets table
(each target's figure, limit, value, verdict and margin), then its charts: latency per payload
(p50 to p99 per store, beside the floor it is judged against), throughput against processes,
latency against the number of jobs in the directory, where the time of one save goes, and
``recover()`` per job at start-up. Each part is drawn only when ``bench.json`` holds its data,
so a quick run gives a shorter section. :mod:`harness.report.html` places it on the page.
"""

from __future__ import annotations

import re
from typing import Any

from harness.report import plots
from harness.report.markup import format_value, slug, table_row, tag, verdict_word
from harness.report.plots import esc
from harness.report.runs import BenchRun


def bench_section(run: BenchRun) -> str:
    """One bench run: its targets table, then each chart its ``bench.json`` has the data for."""
    data, prefix = run.bench, "bench-" + slug(run.path.name)
    quick = " (quick)" if data.get("quick") else ""
    charts = [
        *_bench_latency(prefix, data.get("figures") or {}),
        *_bench_scaling(prefix, data.get("scaling") or {}),
        *_bench_directory(prefix, data.get("directory_size") or {}),
        *_bench_breakdown(prefix, data.get("breakdown") or {}),
        *_bench_recover(prefix, data.get("recover") or {}),
    ]
    return (
        tag("h3", esc(run.path.name) + quick)
        + _targets_table(data.get("targets") or [])
        + "".join(charts)
    )


def _targets_table(targets: list[Any]) -> str:
    rows = [
        table_row(("id", "target", "figure", "metric", "limit", "value", "verdict", "margin"), "th")
    ]
    for target in (t for t in targets if isinstance(t, dict)):
        rows.append(
            table_row(
                (
                    esc(target.get("id", "")),
                    esc(target.get("title", "")),
                    tag("code", esc(target.get("figure", ""))),
                    esc(target.get("metric", "")),
                    esc(format_value(target.get("limit"))),
                    esc(format_value(target.get("value"))),
                    verdict_word(target.get("passed")),
                    esc(target.get("margin", "")),
                )
            )
        )
    return tag("table", "".join(rows), class_="targets") if len(rows) > 1 else ""


def _bench_percentiles(figure: Any) -> plots.Percentiles | None:
    """A bench figure as percentiles in µs; None for a throughput or a figure with no median."""
    if not isinstance(figure, dict) or figure.get("unit", "us") not in ("us", "µs"):
        return None
    p50 = figure.get("p50_us", figure.get("value"))
    if not isinstance(p50, int | float):
        return None
    p99 = figure.get("p99_us")
    p99 = p99 if isinstance(p99, int | float) else p50  # too few samples for a p99
    return plots.Percentiles(float(p50), float(p99), count=figure.get("samples"))


def _bench_latency(prefix: str, figures: dict[str, Any]) -> list[str]:
    """Per operation: rows = payloads, series = stores and the floor they are judged against."""
    by_op: dict[str, dict[str, dict[str, plots.Percentiles]]] = {}
    for key, figure in figures.items():
        value = _bench_percentiles(figure)
        if value is None or not figure.get("store"):
            continue  # a floor: drawn beside the figures that refer to it
        op = str(figure.get("op") or key.split(".")[0])
        payload = str(figure.get("payload") or key.split(".")[-1])
        stores = by_op.setdefault(op, {"floor": {}})
        stores.setdefault(str(figure["store"]), {})[payload] = value
        if floor := _bench_percentiles(figures.get(str(figure.get("floor")))):
            stores["floor"][payload] = floor
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


def _bench_scaling(prefix: str, scaling: dict[str, Any]) -> list[str]:
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


def _bench_directory(prefix: str, sizes: dict[str, Any]) -> list[str]:
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


def _bench_breakdown(prefix: str, breakdown: dict[str, Any]) -> list[str]:
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


def _bench_recover(prefix: str, recover: dict[str, Any]) -> list[str]:
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
