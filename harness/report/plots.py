"""SVG charts for the HTML report, written by hand: no plotting library, no script, no font file.

Each chart is a function from plain data to one ``<svg data-plot="ID">`` string that a page can
inline as it is, so the report stays a single file that opens offline and straight out of a CI
artifact. Every mark that carries data has the class ``mark`` (the browser test checks that each
chart drew some), and hovering a mark shows its numbers (an SVG ``<title>``)::

    >>> svg = line_chart("demo", "Throughput", [Series("hardened", [(1, 1900.0), (2, 3500.0)])],
    ...                  x_label="processes", y_label="ops/s")
    >>> svg.startswith("<svg") and 'data-plot="demo"' in svg and 'class="mark' in svg
    True

The charts:

* :func:`line_chart`: series of (x, y) points on linear or logarithmic axes (throughput against
  processes, latency against directory size);
* :func:`range_chart`: latency percentiles, one row per source (a scenario, a payload), one band
  per series (a store): a dot at p50, a bar to p99, a tick at p95, a ring at the maximum;
* :func:`stacked_bar_chart`: where the time of one call goes, one bar per store;
* :func:`bar_chart`: one value per label (recovery time per job).

The trend sparklines are :mod:`harness.report.trend_section`'s.

The elements, scales, axes and legends they are drawn with are :mod:`harness.report.svg`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.report.svg import (
    HALF_WIDTH,
    PAGE_WIDTH,
    TITLE_COLOR,
    Frame,
    Scale,
    chart_title,
    color_for,
    element,
    fit_label,
    format_number,
    label_column,
    legend,
    series_colors,
    svg_open,
    text,
    tooltip,
    x_axis,
    y_axis,
    y_axis_margin,
)

# ---------------------------------------------------------------- line chart


@dataclass(frozen=True)
class Series:
    """A named line of (x, y) points; ``notes`` (one per point, optional) go in the tooltips."""

    label: str
    points: Sequence[tuple[float, float]]
    color: str = ""
    dashed: bool = False
    notes: Sequence[str] = ()


def line_chart(
    plot_id: str,
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
    width: float = HALF_WIDTH,
    height: float = 260,
) -> str:
    """Lines with a dot on every point and a legend on top; axes fitted to the data (y from 0)."""
    lines = [
        Series(s.label, s.points, s.color or color_for(s.label, i), s.dashed, s.notes)
        for i, s in enumerate(series)
    ]
    entries = [(s.label, s.color) for s in lines]
    legend_svg, legend_height = legend(entries, 56, 34, width - 70, [s.dashed for s in lines])
    frame = Frame(width, height + legend_height, top=30 + legend_height + 4)
    x_scale = Scale.fitted(
        [x for s in lines for x, _ in s.points], frame.x0 + 8, frame.x1 - 8, log=log_x
    )
    y_values = [y for s in lines for _, y in s.points]
    y_scale = Scale.fitted(y_values, frame.y0, frame.y1, log=log_y, zero=not log_y)
    frame.left = y_axis_margin(y_scale)  # wide enough for "2.5k" or "0.005", never clipped
    x_scale = Scale(x_scale.low, x_scale.high, frame.x0 + 8, frame.x1 - 8, x_scale.log)
    parts = [
        svg_open(plot_id, width, frame.height, title),
        chart_title(title),
        legend_svg,
        y_axis(frame, y_scale, y_label),
        x_axis(frame, x_scale, x_label),
    ]
    for line in lines:
        pixels = [(x_scale.at(x), y_scale.at(y)) for x, y in line.points]
        if len(pixels) > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in pixels)
            dash = "5 4" if line.dashed else None
            parts.append(
                element(
                    "polyline",
                    class_="mark",
                    points=points,
                    fill="none",
                    stroke=line.color,
                    stroke_width=2,
                    stroke_dasharray=dash,
                )
            )
        for index, ((x, y), (px, py)) in enumerate(zip(line.points, pixels, strict=True)):
            note = line.notes[index] if index < len(line.notes) else ""
            tip = f"{line.label}: {format_number(x)} {x_label}, {format_number(y)} {y_label}"
            tip += f" ({note})" if note else ""
            parts.append(
                element("circle", tooltip(tip), class_="mark", cx=px, cy=py, r=3, fill=line.color)
            )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------- percentile ranges


@dataclass(frozen=True)
class Percentiles:
    """One latency distribution, in the chart's unit; missing percentiles are None."""

    p50: float
    p99: float
    p95: float | None = None
    maximum: float | None = None
    count: int | None = None
    p25: float | None = None  # the quartiles, for the spread (IQR): absent from older reports
    p75: float | None = None

    @property
    def iqr(self) -> float | None:
        """p75 - p25, the width of the middle half of the calls; None without the quartiles."""
        return None if self.p25 is None or self.p75 is None else self.p75 - self.p25


@dataclass(frozen=True)
class RangeSeries:
    """One store's distributions, by row label."""

    label: str
    values: dict[str, Percentiles] = field(default_factory=dict)
    color: str = ""


def range_chart(
    plot_id: str,
    title: str,
    rows: Sequence[str],
    series: Sequence[RangeSeries],
    *,
    unit: str,
    width: float = PAGE_WIDTH,
) -> str:
    """Latency percentiles per row and series, on a log axis: where a store's tail comes from.

    For each row (a scenario, a payload) and series (a store): a dot at p50, a thick bar from
    p50 to p99, a tick at p95 and a ring at the maximum. A log axis, because the median of a
    page-cache read and the maximum of an fsync under faults are four decades apart.
    """
    bands = [
        RangeSeries(s.label, s.values, s.color or color_for(s.label, i))
        for i, s in enumerate(series)
    ]
    band = max(20.0, 7.0 * len(bands) + 6)
    left = label_column(rows)
    legend_svg, legend_height = legend(
        [(s.label, s.color) for s in bands], left, 34, width - left - 14
    )
    top = 30 + legend_height + 4
    frame = Frame(width, top + band * len(rows) + 38, left=left, top=top)
    values = [
        v
        for s in bands
        for p in s.values.values()
        for v in (p.p50, p.p99, p.maximum)
        if v and v > 0
    ]
    scale = Scale.fitted(values, frame.x0 + 4, frame.x1 - 4, log=True)
    parts = [
        svg_open(plot_id, width, frame.height, title),
        chart_title(title),
        legend_svg,
        x_axis(frame, scale, unit),
    ]
    for row_index, row in enumerate(rows):
        parts.append(_range_row(frame, scale, row_index, row, bands, band, unit))
    parts.append("</svg>")
    return "".join(parts)


def _range_row(
    frame: Frame,
    scale: Scale,
    row_index: int,
    row: str,
    bands: Sequence[RangeSeries],
    band: float,
    unit: str,
) -> str:
    """One row of a range chart: its label, a zebra stripe on odd rows, each series' marks."""
    row_top = frame.top + row_index * band
    parts = []
    if row_index % 2:  # zebra rows: the eye follows a row across
        parts.append(
            element(
                "rect",
                x=frame.x0,
                y=row_top,
                width=frame.x1 - frame.x0,
                height=band,
                fill="#000",
                fill_opacity=0.03,
            )
        )
    parts.append(_row_label(frame, row_top + band / 2 + 4, row))
    for index, line in enumerate(bands):
        value = line.values.get(row)
        if value is not None:
            y = row_top + 6 + index * 7 if len(bands) > 1 else row_top + band / 2
            parts.append(_range_marks(scale, y, line, row, value, unit))
    return "".join(parts)


def _range_marks(
    scale: Scale, y: float, line: RangeSeries, row: str, value: Percentiles, unit: str
) -> str:
    def at(v: float) -> float:
        return scale.at(max(v, 1e-12))

    named = [("p50", value.p50), ("IQR", value.iqr), ("p95", value.p95), ("p99", value.p99)]
    named.append(("max", value.maximum))
    numbers = ", ".join(f"{name} {format_number(v)}" for name, v in named if v is not None)
    calls = f", {value.count} calls" if value.count else ""
    x50, x99 = at(value.p50), at(value.p99)
    parts = [
        tooltip(f"{line.label}, {row}: {numbers} {unit}{calls}"),
        element(
            "line",
            class_="mark",
            x1=x50,
            y1=y,
            x2=max(x99, x50 + 1),
            y2=y,
            stroke=line.color,
            stroke_width=4,
            stroke_opacity=0.55,
        ),
    ]
    if value.p95 is not None:
        x95 = at(value.p95)
        parts.append(element("line", x1=x95, y1=y - 3, x2=x95, y2=y + 3, stroke=line.color))
    if value.maximum is not None:
        parts.append(
            element("circle", cx=at(value.maximum), cy=y, r=2.5, fill="none", stroke=line.color)
        )
    parts.append(element("circle", class_="mark", cx=x50, cy=y, r=3, fill=line.color))
    return element("g", "".join(parts), class_="range")


# ---------------------------------------------------------------- bars


def stacked_bar_chart(
    plot_id: str,
    title: str,
    bars: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    unit: str,
    width: float = PAGE_WIDTH,
) -> str:
    """One horizontal bar per label, split into parts (the same part has the same colour)."""
    names = list(dict.fromkeys(name for _, parts in bars for name, _ in parts))
    colors = dict(zip(names, series_colors(len(names)), strict=True))  # 9 steps: 9 colours
    left = label_column([label for label, _ in bars])
    legend_svg, legend_height = legend([(n, colors[n]) for n in names], left, 34, width - left - 14)
    top = 30 + legend_height + 4
    frame = Frame(width, top + 26 * len(bars) + 40, left=left, top=top, right=90)
    totals = [sum(max(v, 0.0) for _, v in parts) for _, parts in bars]
    scale = Scale.fitted([*totals, 0.0], frame.x0, frame.x1, zero=True)
    svg = [
        svg_open(plot_id, width, frame.height, title),
        chart_title(title),
        legend_svg,
        x_axis(frame, scale, unit),
    ]
    for index, (label, parts) in enumerate(bars):
        y = top + index * 26 + 4
        svg.append(_row_label(frame, y + 13, label))
        cursor = 0.0
        for name, value in parts:
            if value <= 0:
                continue
            x, end = scale.at(cursor), scale.at(cursor + value)
            share = value / totals[index] * 100 if totals[index] else 0
            tip = tooltip(f"{label}: {name} {format_number(value)} {unit} ({share:.0f} %)")
            svg.append(
                element(
                    "rect",
                    tip,
                    class_="mark",
                    x=x,
                    y=y,
                    width=max(end - x, 0.5),
                    height=18,
                    fill=colors[name],
                )
            )
            cursor += value
        svg.append(text(scale.at(cursor) + 4, y + 13, f"{format_number(totals[index])} {unit}"))
    svg.append("</svg>")
    return "".join(svg)


def bar_chart(
    plot_id: str,
    title: str,
    bars: Sequence[tuple[str, float, str]],
    *,
    unit: str,
    width: float = PAGE_WIDTH,
) -> str:
    """One horizontal bar per (label, value, note), coloured by label (a store's colour)."""
    left = label_column([label for label, _, _ in bars])
    frame = Frame(width, 30 + 26 * len(bars) + 40, left=left, top=30, right=170)
    scale = Scale.fitted([*(v for _, v, _ in bars), 0.0], frame.x0, frame.x1, zero=True)
    parts = [
        svg_open(plot_id, width, frame.height, title),
        chart_title(title),
        x_axis(frame, scale, unit),
    ]
    for index, (label, value, note) in enumerate(bars):
        y = 34 + index * 26
        end = scale.at(max(value, 0.0))
        reading = f"{format_number(value)} {unit}" + (f" ({note})" if note else "")
        parts.append(_row_label(frame, y + 13, label))
        parts.append(
            element(
                "rect",
                tooltip(f"{label}: {reading}"),
                class_="mark",
                x=frame.x0,
                y=float(y),
                width=max(end - frame.x0, 0.5),
                height=18,
                fill=color_for(label, index),
            )
        )
        parts.append(text(end + 4, y + 13, reading))
    parts.append("</svg>")
    return "".join(parts)


def _row_label(frame: Frame, y: float, label: str) -> str:
    """A row's label, right-aligned left of the plot; cut to the column, whole in its tooltip."""
    shown = fit_label(label, frame.x0 - 10)
    mark = text(frame.x0 - 6, y, shown, anchor="end", color=TITLE_COLOR)
    return mark if shown == label else element("g", tooltip(label) + mark)
