"""The requests part of ``report.html``: every HTTP request of a service run, latency over time.

What Jepsen users read first: one dot per request (x: when it was sent, y: how long it took, on
a log scale), coloured by what it was (a submit, a status poll, a download), with the fault
windows shaded and the kills and damages drawn as lines, so a stall under a pause, a burst of
503s during a full disk or a slow restart is seen at a glance. Answers of 5xx are drawn as
crosses whatever the request. Each dot's tooltip names the operation, its answer and latency.
The fault shading and the thinning are shared with the store scatter (:mod:`.fault_shading`).
Only service scenarios (``verify --service``) have requests; for a store run the section is empty.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.history.log import Operation, Record, join_operations, load_history
from harness.report.fault_shading import WINDOW_FILL, fault_shading, thinned
from harness.report.markup import tag
from harness.report.runs import VerifyRun
from harness.report.svg import (
    PAGE_WIDTH,
    Frame,
    Scale,
    element,
    legend,
    svg_open,
    text,
    tooltip,
    x_axis,
    y_axis,
    y_axis_margin,
)

COLORS = {"submit": "#7b3294", "status": "#2c7bb6", "download": "#1a9641"}
ERROR_COLOR = "#d7191c"
MAX_POINTS = 4000  # dots drawn per chart (every 5xx is kept; the rest thinned evenly)


def requests_section(verify: list[VerifyRun]) -> str:
    figures = []
    for run in verify:
        for scenario in run.report.scenarios:
            history = run.path / scenario.history
            if scenario.kind != "service" or not scenario.applicable or not history.is_file():
                continue
            records = load_history(history)
            chart = requests_chart(
                f"rq-{run.slug}-{scenario.name}", f"{run.label}: {scenario.name}", records
            )
            if chart:
                figures.append(tag("figure", chart, class_="requests"))
    return "".join(figures)


def requests_chart(
    plot_id: str, title: str, records: Sequence[Record], width: float = PAGE_WIDTH
) -> str:
    """One scatter of every request in ``records``; empty when there is none."""
    ops = [
        op
        for op in join_operations(records)
        if op.f in COLORS and op.elapsed is not None and isinstance(op.result, dict)
    ]
    if not ops:
        return ""
    frame = Frame(width, 320, left=64, bottom=58)
    end = max(record.time for record in records)
    xs = Scale(0.0, max(end, 0.001), frame.x0, frame.x1)
    ys = Scale.fitted([op.elapsed * 1000 for op in ops if op.elapsed], frame.y0, frame.y1, log=True)
    frame.left = y_axis_margin(ys)
    xs = Scale(xs.low, xs.high, frame.x0, frame.x1)
    parts = [svg_open(plot_id, width, frame.height, title), text(8, 16, title, size=13)]
    parts += fault_shading(records, xs, frame)
    parts.append(x_axis(frame, xs, "seconds into the scenario"))
    parts.append(y_axis(frame, ys, "request latency (ms)"))
    parts += [_dot(op, xs, ys) for op in thinned(ops, _is_error, MAX_POINTS)]
    entries = [(f, color) for f, color in COLORS.items()]
    entries += [("5xx answer (x)", ERROR_COLOR), ("fault window", WINDOW_FILL)]
    parts.append(legend(entries, frame.x0, frame.height - 8 - 16, frame.x1 - frame.x0)[0])
    return "".join(parts) + "</svg>"


def _is_error(op: Operation) -> bool:
    return (op.result.get("code") or 0) >= 500


def _dot(op: Operation, xs: Scale, ys: Scale) -> str:
    code = op.result.get("code")
    x, y = xs.at(op.start), ys.at((op.elapsed or 0.0) * 1000)
    words = f"{op.describe()} · answered {code} · {(op.elapsed or 0) * 1000:.1f} ms"
    tip = tooltip(words)
    if code is not None and code >= 500:
        d = f"M{x - 3:.1f},{y - 3:.1f}L{x + 3:.1f},{y + 3:.1f}M{x - 3:.1f},{y + 3:.1f}L{x + 3:.1f},{y - 3:.1f}"
        return element("path", tip, d=d, stroke=ERROR_COLOR, stroke_width=1.5)
    return element(
        "circle", tip, cx=f"{x:.1f}", cy=f"{y:.1f}", r=1.8, fill=COLORS[op.f], fill_opacity=0.6
    )
