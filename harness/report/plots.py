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
* :func:`bar_chart`: one value per label (recovery time per job);
* :func:`trend_chart`: one figure across runs, the current run ringed.

:func:`element` writes one SVG element (``element("line", x1=0, y1=0, stroke_width=2)``);
it, :class:`Scale` and the other helpers are shared with :mod:`harness.report.timeline`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

FONT_SIZE = 11
CHAR_WIDTH = 6.2  # average width of an 11 px sans-serif character, for laying out labels
AXIS_COLOR = "#555"
GRID_COLOR = "#e4e4e4"
TITLE_COLOR = "#222"

# Okabe-Ito: told apart under every common kind of colour blindness.
PALETTE = ("#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
STORE_COLORS = {
    "hardened": "#0072B2",
    "sqlite": "#009E73",
    "postgres": "#56B4E9",
    "phase470": "#E69F00",
    "naive": "#D55E00",
}


def esc(content: object) -> str:
    """Text made safe for SVG/HTML content and attribute values."""
    return html.escape(str(content), quote=True)


def element(name: str, content: str = "", /, **attributes: object) -> str:
    """One SVG element. ``stroke_width`` is written ``stroke-width``, ``class_`` ``class``;
    floats get one decimal (sub-pixel precision is bytes nobody sees); None is left out.

    >>> element("line", x1=0, y1=1.25, stroke_width=2, class_="mark", fill=None)
    '<line x1="0" y1="1.2" stroke-width="2" class="mark"/>'
    """
    parts = [name]
    for key, value in attributes.items():
        if value is None:
            continue
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(f'{key.rstrip("_").replace("_", "-")}="{esc(shown)}"')
    opening = " ".join(parts)
    return f"<{opening}>{content}</{name}>" if content else f"<{opening}/>"


def tooltip(content: str) -> str:
    """The hover text of the element it is placed in."""
    return f"<title>{esc(content)}</title>"


def color_for(label: str, index: int = 0) -> str:
    """A store's own colour (the same in every chart), else a palette colour by position."""
    return STORE_COLORS.get(label) or PALETTE[index % len(PALETTE)]


def format_number(value: float) -> str:
    """A short human reading of ``value``: three significant digits, thousands separated.

    >>> [format_number(v) for v in (0, 0.000123, 0.5, 12.345, 1900.0, 2.5e6)]
    ['0', '0.000123', '0.5', '12.3', '1,900', '2,500,000']
    """
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def svg_open(plot_id: str, width: float, height: float, title: str) -> str:
    """The opening tag of a chart, with its accessible title."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" data-plot="{esc(plot_id)}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{esc(title)}">{tooltip(title)}'
    )


def text(
    x: float,
    y: float,
    content: object,
    *,
    anchor: str = "start",
    size: int = FONT_SIZE,
    color: str = AXIS_COLOR,
    transform: str | None = None,
) -> str:
    return element(
        "text",
        esc(content),
        x=float(x),
        y=float(y),
        font_size=size,
        fill=color,
        text_anchor=anchor,
        transform=transform,
    )


def chart_title(title: str) -> str:
    return text(8, 16, title, size=13, color=TITLE_COLOR)


@dataclass(frozen=True)
class Scale:
    """Maps a data interval onto pixels, linearly or logarithmically, and proposes ticks.

    >>> Scale(0, 10, 100, 200).at(5)
    150.0
    >>> Scale(1, 100, 0, 100, log=True).at(10)
    50.0
    """

    low: float
    high: float
    start: float  # pixel of ``low``
    end: float  # pixel of ``high``
    log: bool = False

    @classmethod
    def fitted(
        cls,
        values: Sequence[float],
        start: float,
        end: float,
        *,
        log: bool = False,
        zero: bool = False,
    ) -> Scale:
        """A scale covering ``values`` on round numbers; ``zero`` starts a linear scale at 0."""
        finite = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
        if not finite:
            return cls(1.0, 10.0, start, end, True) if log else cls(0.0, 1.0, start, end)
        low, high = min(finite), max(finite)
        if log:
            # Whole decades at both ends: a log axis is read by its powers of ten.
            low_decade = math.floor(math.log10(low) + 1e-9)
            high_decade = max(math.ceil(math.log10(high) - 1e-9), low_decade + 1)
            return cls(10.0**low_decade, 10.0**high_decade, start, end, True)
        if zero:
            low = min(low, 0.0)
        if high == low:  # a constant: centre it, or start at 0 when it is 0
            pad = abs(high) * 0.5 or 1.0
            low, high = (0.0, pad) if high == 0 else (low - pad * (not zero), high + pad)
        step = nice_step((high - low) / 5)
        return cls(math.floor(low / step) * step, math.ceil(high / step) * step, start, end)

    def at(self, value: float) -> float:
        if self.log:
            value = max(value, self.low)
            span = math.log10(self.high) - math.log10(self.low)
            fraction = (math.log10(value) - math.log10(self.low)) / span
        else:
            fraction = (value - self.low) / ((self.high - self.low) or 1.0)
        return self.start + fraction * (self.end - self.start)

    def ticks(self) -> list[float]:
        if not self.log:
            step = nice_step((self.high - self.low) / 5)
            first = math.ceil(self.low / step - 1e-9)
            count = math.floor(self.high / step + 1e-9) - first + 1
            return [round((first + i) * step, 12) for i in range(count)]
        decades = range(round(math.log10(self.low)), round(math.log10(self.high)) + 1)
        ticks = [10.0**d for d in decades]
        if len(ticks) <= 3:
            # Few decades: 2 and 5 in between too, or the axis has only two labels.
            ticks = sorted(t * m for t in ticks for m in (1, 2, 5) if t * m <= self.high)
        return ticks


def nice_step(raw: float) -> float:
    """The round step (1, 2 or 5 times a power of ten) nearest above ``raw``.

    >>> nice_step(0.3), nice_step(7), nice_step(1200)
    (0.5, 10, 2000)
    """
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


@dataclass
class Frame:
    """The plot area of a chart and its margins, in pixels."""

    width: float
    height: float
    left: float = 56
    right: float = 14
    top: float = 30
    bottom: float = 38

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:  # the bottom of the plot area (SVG y grows downwards)
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top


def x_axis(
    frame: Frame, scale: Scale, label: str, ticks: Sequence[tuple[float, str]] | None = None
) -> str:
    """Tick labels under the plot area, vertical grid lines, and the axis label."""
    parts = [element("line", x1=frame.x0, y1=frame.y0, x2=frame.x1, y2=frame.y0, stroke=AXIS_COLOR)]
    pairs = ticks if ticks is not None else [(t, format_number(t)) for t in scale.ticks()]
    for value, name in pairs:
        x = scale.at(value)
        parts.append(element("line", x1=x, y1=frame.y1, x2=x, y2=frame.y0, stroke=GRID_COLOR))
        parts.append(text(x, frame.y0 + 14, name, anchor="middle"))
    parts.append(text((frame.x0 + frame.x1) / 2, frame.height - 6, label, anchor="middle"))
    return "".join(parts)


def y_axis(frame: Frame, scale: Scale, label: str) -> str:
    """Tick labels left of the plot area, horizontal grid lines, and the rotated axis label."""
    parts = [element("line", x1=frame.x0, y1=frame.y1, x2=frame.x0, y2=frame.y0, stroke=AXIS_COLOR)]
    for value in scale.ticks():
        y = scale.at(value)
        parts.append(element("line", x1=frame.x0, y1=y, x2=frame.x1, y2=y, stroke=GRID_COLOR))
        parts.append(text(frame.x0 - 5, y + 4, format_number(value), anchor="end"))
    middle = (frame.y0 + frame.y1) / 2
    parts.append(text(12, middle, label, anchor="middle", transform=f"rotate(-90 12 {middle:.1f})"))
    return "".join(parts)


def legend(
    entries: Sequence[tuple[str, str]],
    x: float,
    y: float,
    width: float,
    dashed: Sequence[bool] = (),
) -> tuple[str, float]:
    """A row of swatch + label entries that wraps at ``width``; returns it and its height."""
    parts, cursor, line = [], x, 0
    for index, (label, color) in enumerate(entries):
        span = 22 + len(label) * CHAR_WIDTH + 12
        if cursor + span > x + width and cursor > x:
            cursor, line = x, line + 1
        top = y + line * 16
        dash = "4 3" if index < len(dashed) and dashed[index] else None
        parts.append(
            element(
                "line",
                x1=cursor,
                y1=top - 4,
                x2=cursor + 16,
                y2=top - 4,
                stroke=color,
                stroke_width=3,
                stroke_dasharray=dash,
            )
        )
        parts.append(text(cursor + 20, top, label))
        cursor += span
    return "".join(parts), (line + 1) * 16 if entries else 0


def label_column(labels: Sequence[str]) -> float:
    """Width of a column of row labels, capped so the plot keeps most of the chart."""
    return min(230.0, max((len(label) for label in labels), default=4) * CHAR_WIDTH + 16)


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
    width: float = 460,
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
    width: float = 720,
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
        row_top = top + row_index * band
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
        parts.append(
            text(frame.x0 - 6, row_top + band / 2 + 4, row, anchor="end", color=TITLE_COLOR)
        )
        for index, line in enumerate(bands):
            value = line.values.get(row)
            if value is not None:
                y = row_top + 6 + index * 7 if len(bands) > 1 else row_top + band / 2
                parts.append(_range_marks(scale, y, line, row, value, unit))
    parts.append("</svg>")
    return "".join(parts)


def _range_marks(
    scale: Scale, y: float, line: RangeSeries, row: str, value: Percentiles, unit: str
) -> str:
    def at(v: float) -> float:
        return scale.at(max(v, 1e-12))

    named = [("p50", value.p50), ("p95", value.p95), ("p99", value.p99), ("max", value.maximum)]
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
    width: float = 720,
) -> str:
    """One horizontal bar per label, split into parts (the same part has the same colour)."""
    names = list(dict.fromkeys(name for _, parts in bars for name, _ in parts))
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
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
        svg.append(text(frame.x0 - 6, y + 13, label, anchor="end", color=TITLE_COLOR))
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
    width: float = 720,
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
        parts.append(text(frame.x0 - 6, y + 13, label, anchor="end", color=TITLE_COLOR))
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


# ---------------------------------------------------------------- trends


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
    """A small multiple: one figure across runs, oldest left, the current run ringed in red."""
    frame = Frame(width, height, left=46, right=10, top=22, bottom=16)
    x_scale = Scale(0, max(len(points) - 1, 1), frame.x0 + 6, frame.x1 - 6)
    y_scale = Scale.fitted([p.value for p in points], frame.y0, frame.y1)
    parts = [
        svg_open(plot_id, width, height, title),
        text(4, 13, title, size=10, color=TITLE_COLOR),
    ]
    for value in (y_scale.low, y_scale.high):
        y = y_scale.at(value)
        parts.append(element("line", x1=frame.x0, y1=y, x2=frame.x1, y2=y, stroke=GRID_COLOR))
        parts.append(text(frame.x0 - 4, y + 4, format_number(value), anchor="end", size=9))
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
    for index, ((x, y), point) in enumerate(zip(pixels, points, strict=True)):
        tip = tooltip(f"{format_number(point.value)}: {point.label}")
        if index == current:
            parts.append(
                element(
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
            )
        else:
            parts.append(element("circle", tip, class_="mark", cx=x, cy=y, r=2.5, fill="#0072B2"))
    runs = f"{len(points)} run{'s' if len(points) != 1 else ''}"
    parts.append(text(frame.x1, height - 3, runs, anchor="end", size=9))
    parts.append("</svg>")
    return "".join(parts)
