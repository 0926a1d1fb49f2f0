"""The latency part of ``report.html``: percentiles per store call, store and source.

One chart per store call (:data:`LATENCY_OPS`); each row is where the figures come from: the
quiet measurement of the ``latency`` scenario (``quiet:`` rows, beside the floors of the store's
medium and the naive design) and then each scenario under its faults; each colour is a store.
The list above the charts names the floor each run's budgets were judged against; under each
chart, :func:`spread_table` gives the same figures with their spread (p50, IQR, p99, max).
"""

from __future__ import annotations

from typing import Any

from harness.report import plots
from harness.report.markup import table_row, tag
from harness.report.runs import VerifyRun
from harness.report.svg import color_for, esc, format_number

LATENCY_OPS = {  # operation: rows of the quiet measurement (the latency scenario) shown with it
    "save": ("floor_write", "naive_save", "save"),
    "get": ("floor_read", "naive_get", "get"),
    "update": (),
    "get_recovering": ("get_recovering",),
    "recover": (),
}


def _percentiles(figure: Any) -> plots.Percentiles | None:
    """A latency summary ({count, p50_ms, ...}) as chart percentiles; None when it is empty."""
    if not isinstance(figure, dict) or not figure.get("count") or "p50_ms" not in figure:
        return None
    p50 = figure["p50_ms"]
    return plots.Percentiles(
        p50,
        figure.get("p99_ms", p50),
        figure.get("p95_ms"),
        figure.get("max_ms"),
        int(figure["count"]),
        figure.get("p25_ms"),
        figure.get("p75_ms"),
    )


def latency_rows(run: VerifyRun, op: str) -> dict[str, plots.Percentiles]:
    """Row label -> percentiles of ``op`` in one run: the quiet measurement, then each scenario."""
    quiet: dict[str, plots.Percentiles] = {}
    scenarios: dict[str, plots.Percentiles] = {}
    for scenario in run.report.scenarios:
        for check in scenario.checks:
            figures = check.figures
            if check.name == "performance_budget":
                for name in LATENCY_OPS.get(op, ()):
                    if value := _percentiles((figures.get("latency") or {}).get(name)):
                        quiet[f"quiet: {name}"] = value
                if op == "get_recovering":  # P3 judges the kinds together; show each apart
                    for kind, figure in (figures.get("recovering_by_damage") or {}).items():
                        if value := _percentiles(figure):
                            quiet[f"quiet: get_recovering ({kind})"] = value
            elif check.name == "latency" and (value := _percentiles(figures.get(op))):
                scenarios[scenario.name] = value
    return quiet | scenarios


def latency_section(verify: list[VerifyRun]) -> str:
    charts = []
    for op in LATENCY_OPS:
        per_run = {run.label: latency_rows(run, op) for run in verify}
        rows = list(dict.fromkeys(row for values in per_run.values() for row in values))
        rows.sort(key=lambda row: not row.startswith("quiet"))  # stable: quiet rows first
        series = [
            plots.RangeSeries(label, values, color_for(label, index))
            for index, (label, values) in enumerate(per_run.items())
            if values
        ]
        if rows:
            title = f"{op}: latency percentiles"
            charts.append(plots.range_chart(f"latency-{op}", title, rows, series, unit="ms"))
            charts.append(spread_table(rows, per_run))
    if not charts:
        return ""
    explanation = (
        "Dot: p50; bar: p50 to p99; tick: p95; ring: the maximum; log scale. <i>quiet</i> rows "
        "come from the latency scenario, without faults (the floors are the least a write and a "
        "read cost on the store's own medium, measured in the same rounds); the others from each "
        "scenario, under its faults. Under each chart, the same figures as a table, with the "
        "spread: the IQR is p75 - p25, the width of the middle half of the calls (a dash: the "
        "run was saved before the quartiles were)."
    )
    return tag("p", explanation) + _floors_list(verify) + "".join(charts)


def spread_table(rows: list[str], per_run: dict[str, dict[str, plots.Percentiles]]) -> str:
    """One line per source and store: calls, p50, IQR (p25 to p75), p99 and max, in ms."""
    lines = [table_row(("source", "store", "calls", "p50", "IQR (p25-p75)", "p99", "max"), "th")]
    for row in rows:
        for label, values in per_run.items():
            if (value := values.get(row)) is None:
                continue
            spread = "-"
            if value.iqr is not None:
                quartiles = f"{format_number(value.p25 or 0)}-{format_number(value.p75 or 0)}"
                spread = f"{format_number(value.iqr)} ({quartiles})"
            cells = (
                esc(row),
                esc(label),
                str(value.count or "-"),
                format_number(value.p50),
                spread,
                format_number(value.p99),
                format_number(value.maximum) if value.maximum is not None else "-",
            )
            lines.append(table_row(cells))
    return tag("table", "".join(lines), class_="spread")


def _floors_list(verify: list[VerifyRun]) -> str:
    """Which floor each run's budgets were judged against (a file, a database round trip)."""
    items = []
    for run in verify:
        for scenario in run.report.scenarios:
            budget = scenario.check("performance_budget")
            floor = budget.figures.get("floor") if budget else None
            if isinstance(floor, dict):
                who = "declared by the store" if floor.get("declared_by") == "store" else "default"
                items.append(
                    tag(
                        "li",
                        f"{tag('b', esc(run.label))}: floor {tag('b', esc(floor.get('medium')))}"
                        f" ({esc(who)}); write: {esc(floor.get('write'))}; "
                        f"read: {esc(floor.get('read'))}",
                    )
                )
    if not items:
        return ""
    return tag("p", "The budgets P1-P3 were judged against these floors:") + tag(
        "ul", "".join(items)
    )
