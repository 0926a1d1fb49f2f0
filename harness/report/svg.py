"""SVG written by hand, for the report's charts and timelines: elements, text, scales, axes.

No plotting library, no script, no font file: each chart is a string of SVG a page inlines as it
is. :func:`element` writes one element (``element("line", x1=0, y1=0, stroke_width=2)``),
:class:`Scale` maps data onto pixels (linear or logarithmic) and proposes round ticks,
:class:`Frame` is a chart's plot area, and the axes, legends and colours every chart shares are
here; the charts themselves are :mod:`harness.report.plots` and
:mod:`harness.report.timeline`.

>>> Scale(1, 100, 0, 100, log=True).at(10)
50.0
>>> esc("<b>"), color_for("hardened")
('&lt;b&gt;', '#0072B2')
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

FONT_SIZE = 11
# Width of an 11 px sans-serif character, for laying out labels: a digit of DejaVu Sans (what a
# headless Linux browser falls back to) is 0.64 em, 7 px; letters average a little less. Erring
# wide costs a few pixels of margin, erring narrow clips a label.
CHAR_WIDTH = 6.6
PAGE_WIDTH = 1280  # the page's content width (html.CSS): full-width charts are drawn for it
HALF_WIDTH = 630  # two such charts side by side
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
    return STORE_COLORS.get(label) or series_colors(index + 1)[index]


def series_colors(count: int) -> list[str]:
    """``count`` colours told apart: the Okabe-Ito palette while it lasts, then evenly spaced
    hues (golden-angle steps, two lightnesses), so a ninth series never repeats the first.

    >>> series_colors(3)
    ['#0072B2', '#009E73', '#D55E00']
    >>> colors = series_colors(20); len(set(colors)) == 20 and colors[:8] == list(PALETTE)
    True
    """
    colors = list(PALETTE[:count])
    for index in range(count - len(colors)):
        hue = (index * 137.508 + 20) % 360  # the golden angle: each hue far from all before it
        lightness = 0.42 if index % 2 else 0.58
        colors.append(_hsl(hue, 0.65, lightness))
    return colors


def _hsl(hue: float, saturation: float, lightness: float) -> str:
    """An HSL colour as ``#rrggbb`` (CSS's hsl() would do, but a hex string compares exactly)."""
    chroma = (1 - abs(2 * lightness - 1)) * saturation
    x = chroma * (1 - abs((hue / 60) % 2 - 1))
    r, g, b = [
        (chroma, x, 0),
        (x, chroma, 0),
        (0, chroma, x),
        (0, x, chroma),
        (x, 0, chroma),
        (chroma, 0, x),
    ][int(hue // 60) % 6]
    m = lightness - chroma / 2
    return "#" + "".join(f"{round((c + m) * 255):02x}" for c in (r, g, b))


def fit_label(label: str, width: float, char_width: float = CHAR_WIDTH) -> str:
    """``label`` cut with an ellipsis to fit in ``width`` pixels (the whole of it goes in a
    tooltip beside it): a long scenario name must not run out of its chart.

    >>> fit_label("get_recovering (truncate)", 80)
    'get_recover…'
    >>> fit_label("save", 80)
    'save'
    """
    room = max(1, int(width / char_width))
    return label if len(label) <= room else label[: room - 1] + "…"


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


def compact_number(value: float) -> str:
    """A tick label: :func:`format_number` below a thousand, then k, M, G, so that an axis
    label never outgrows its margin.

    >>> [compact_number(v) for v in (0.005, 20, 1000, 1500, 2.5e6, 1e9)]
    ['0.005', '20', '1k', '1.5k', '2.5M', '1G']
    """
    for power, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= power:
            return f"{value / power:.3g}{suffix}"
    return format_number(value)


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
    pairs = ticks if ticks is not None else [(t, compact_number(t)) for t in scale.ticks()]
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
        parts.append(text(frame.x0 - 5, y + 4, compact_number(value), anchor="end"))
    middle = (frame.y0 + frame.y1) / 2
    parts.append(text(12, middle, label, anchor="middle", transform=f"rotate(-90 12 {middle:.1f})"))
    return "".join(parts)


def y_axis_margin(scale: Scale) -> float:
    """The left margin a :func:`y_axis` of ``scale`` needs: its longest tick label, the gap
    before the axis, and the rotated axis label at the far left (at least the usual 56 px)."""
    longest = max((len(compact_number(tick)) for tick in scale.ticks()), default=1)
    return max(56.0, 5 + longest * CHAR_WIDTH + 24)


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


def label_column(labels: Sequence[str], cap: float = 300.0) -> float:
    """Width of a column of row labels, capped so the plot keeps most of the chart (a longer
    label is cut to fit by :func:`fit_label`)."""
    return min(cap, max((len(label) for label in labels), default=4) * CHAR_WIDTH + 16)
