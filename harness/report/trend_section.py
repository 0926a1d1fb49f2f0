"""The trends part of ``report.html``: each figure of this report's runs across past runs.

The trend log (:mod:`harness.results.trend`) holds one line per verify or bench run; for every
figure of the runs in the report, :func:`trends_section` draws a small chart
(:func:`trend_chart`) of its last :data:`MAX_TREND_POINTS` values, oldest left, this report's
run ringed, grouped by store. A figure seen in one run only shows its value as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.markup import count_of, slug, tag
from harness.report.runs import VerifyRun, current_entries
from harness.report.svg import (
    GRID_COLOR,
    TITLE_COLOR,
    Frame,
    Scale,
    compact_number,
    element,
    esc,
    fit_label,
    format_number,
    svg_open,
    text,
    tooltip,
)
from harness.results import BenchResults
from harness.results.trend import TrendEntry

MAX_TREND_POINTS = 60  # the last runs of a figure: a trend, not an archive


def trend_series(
    trend: Sequence[TrendEntry], figure: str, current: TrendEntry | None
) -> tuple[list[TrendPoint], int | None]:
    """The last values of ``figure`` in the trend log, oldest first, and the current run's index."""
    entries = [entry for entry in trend if figure in entry.figures]
    if current is not None and current not in entries:
        entries.append(current)
    entries = entries[-MAX_TREND_POINTS:]
    points = []
    for entry in entries:
        host = entry.machine.get("hostname", "?")
        mark = " (this report)" if entry is current else ""
        label = f"{entry.commit or '?'} {entry.date or '?'} on {host}{mark}"
        points.append(TrendPoint(float(entry.figures[figure]), label))
    return points, next((i for i, entry in enumerate(entries) if entry is current), None)


def trends_section(
    verify: list[VerifyRun], bench: list[BenchResults], trend: Sequence[TrendEntry]
) -> str:
    groups: dict[str, list[str]] = {}
    for entry in current_entries(verify, bench, trend):
        for figure in sorted(entry.figures):
            parts = figure.split(".")
            group = ".".join(parts[:2]) if parts[0] == "verify" else parts[0]
            points, index = trend_series(trend, figure, entry)
            chart = trend_chart(f"trend-{slug(figure)}", figure, points, index)
            groups.setdefault(group, []).append(chart)
    blocks = "".join(
        tag(
            "details",
            tag("summary", f"{esc(group)} ({count_of(len(charts), 'figure')})")
            + tag("div", "".join(charts), class_="trends"),
            class_="trend-group",
            open="",
        )
        for group, charts in groups.items()
    )
    if not blocks:
        return ""
    explanation = (
        f"Each figure across the last {MAX_TREND_POINTS} runs of the trend log, oldest left; "
        "the ring is this report's run. Hover a point for its commit, date and machine."
    )
    return tag("p", explanation) + blocks


@dataclass(frozen=True)
class TrendPoint:
    """One run's value of a figure; ``label`` (commit, date, machine) goes in the tooltip."""

    value: float
    label: str


def trend_chart(
    plot_id: str,
    title: str,
    points: Sequence[TrendPoint],
    current: int | None,
    *,
    width: float = 250,
    height: float = 110,
) -> str:
    """A small multiple: one figure across runs, oldest left, the current run ringed in red.

    A figure with a single run has no line to draw: its value is written big in the middle
    instead, so the chart is not an empty frame with one dot.
    """
    frame = Frame(width, height, left=46, right=10, top=22, bottom=16)
    x_scale = Scale(0, max(len(points) - 1, 1), frame.x0 + 6, frame.x1 - 6)
    y_scale = Scale.fitted([p.value for p in points], frame.y0, frame.y1)
    parts = [
        svg_open(plot_id, width, height, title),
        text(4, 13, fit_label(title, width - 8, 5.9), size=10, color=TITLE_COLOR),
    ]
    if len(points) == 1:
        parts.append(_single_value(points[0], width, frame, height))
        return "".join(parts) + "</svg>"
    for value in (y_scale.low, y_scale.high):
        y = y_scale.at(value)
        parts.append(element("line", x1=frame.x0, y1=y, x2=frame.x1, y2=y, stroke=GRID_COLOR))
        parts.append(text(frame.x0 - 4, y + 4, compact_number(value), anchor="end", size=9))
    pixels = [(x_scale.at(i), y_scale.at(p.value)) for i, p in enumerate(points)]
    if len(pixels) > 1:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pixels)
        parts.append(
            element(
                "polyline",
                class_="mark",
                points=line,
                fill="none",
                stroke="#0072B2",
                stroke_width=1.5,
            )
        )
    parts += [
        _trend_dot(x, y, point, index == current)
        for index, ((x, y), point) in enumerate(zip(pixels, points, strict=True))
    ]
    parts.append(text(frame.x1, height - 3, f"{len(points)} runs", anchor="end", size=9))
    parts.append("</svg>")
    return "".join(parts)


def _single_value(point: TrendPoint, width: float, frame: Frame, height: float) -> str:
    """A figure's only value, written big where its line would be, and why there is no line."""
    tip = tooltip(f"{format_number(point.value)}: {point.label}")
    reading = element(
        "text",
        esc(format_number(point.value)),
        x=width / 2,
        y=(frame.y0 + frame.y1) / 2 + 8,
        font_size=22,
        font_weight=700,
        fill="#0072B2",
        text_anchor="middle",
    )
    return element("g", tip + reading, class_="mark single") + text(
        frame.x1, height - 3, "1 run: no trend yet", anchor="end", size=9
    )


def _trend_dot(x: float, y: float, point: TrendPoint, current: bool) -> str:
    """A run's dot; the report's own run is a red ring."""
    tip = tooltip(f"{format_number(point.value)}: {point.label}")
    if current:
        return element(
            "circle",
            tip,
            class_="mark current",
            cx=x,
            cy=y,
            r=5,
            fill="none",
            stroke="#D55E00",
            stroke_width=2.5,
        )
    return element("circle", tip, class_="mark", cx=x, cy=y, r=2.5, fill="#0072B2")
