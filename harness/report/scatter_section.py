"""The "Latency over time" part of ``report.html``: every store call of a scenario, as a dot.

The percentile charts say *how slow* a store was; this says *when*. For each store scenario of
each run, one scatter: x is the time since the scenario began, y the time spent inside the store
call (log scale, milliseconds), one colour per operation (save, get, update, recover...). A call
that did not succeed is a cross instead of a dot, *fail* and *info* (outcome unknown: killed
mid-call, a write that raised) alike; a call a failed check names in its evidence is ringed in
purple. Fault windows are shaded and kills and damages drawn as dashed lines
(:mod:`.fault_shading`, as in the requests chart of a service run), so a stall under a slow
fsync or a burst of failures while the disk was full is seen at a glance.

Under each chart, a table of the spread per operation: calls, failed, p50, the interquartile
range (p25 to p75: the middle half of the calls), p99 and the slowest.

Size: a scenario of more than :data:`MAX_POINTS` calls is thinned deterministically, keeping
every failed and every judged-wrong call (:func:`harness.report.fault_shading.thinned`); the
ordinary calls of one operation are one ``<path>`` of round dots on whole pixels, two calls on
the same pixel drawn once, so a chart costs tens of kilobytes, not megabytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import harness.stats as stats
from harness.history.log import FAIL, INFO, OK, Operation, Record, join_operations, load_history
from harness.report.fault_shading import DAMAGE_LINE, KILL_LINE, WINDOW_FILL, fault_shading, thinned
from harness.report.markup import slug, table_row, tag
from harness.report.runs import VerifyRun
from harness.report.svg import (
    PAGE_WIDTH,
    Frame,
    Scale,
    chart_title,
    element,
    esc,
    format_number,
    legend,
    series_colors,
    svg_open,
    tooltip,
    x_axis,
    y_axis,
    y_axis_margin,
)
from harness.report.timeline_model import LEVEL_COLORS, PROBLEM_LEVEL
from harness.report.timeline_section import problem_operations
from harness.results import ScenarioResult

OP_COLORS = {  # the store calls' own colours, the same in every chart; others get the rest
    "save": "#0072B2",
    "get": "#009E73",
    "update": "#CC79A7",
    "recover": "#E69F00",
    "open": "#777777",
    "get_recovering": "#56B4E9",
    "crash_state": "#000000",
}
BOOKKEEPING = frozenset({"fds"})  # the runner's own records (open file descriptors), not calls
MAX_POINTS = 5000  # calls drawn per chart; every failed or judged-wrong call is kept beyond it
MAX_TITLED_FAILURES = 300  # failed calls with their own hover text; the rest are drawn, untitled
PROBLEM_COLOR = LEVEL_COLORS[PROBLEM_LEVEL]


def latency_over_time_section(verify: Sequence[VerifyRun]) -> str:
    """One figure per store scenario of each run: the scatter, then the spread table."""
    figures = []
    for run in verify:
        for scenario in run.report.scenarios:
            history = run.path / scenario.history
            if scenario.kind == "service" or not scenario.applicable or not history.is_file():
                continue  # a service run's requests have their own chart (requests_section)
            figures.append(scatter_figure(run, scenario, load_history(history)))
    figures = [figure for figure in figures if figure]
    if not figures:
        return ""
    explanation = (
        "Every store call of each scenario: when it started (seconds into the scenario) and how "
        "long it spent in the store (ms, log scale); one colour per operation. A cross is a call "
        "that failed or whose outcome is unknown, a purple ring one a failed check names; shaded: "
        "fault windows; dashed: kills (black) and damages (purple). Hover for details."
    )
    return tag("p", explanation) + "".join(figures)


def store_calls(records: Sequence[Record]) -> list[Operation]:
    """The completed store calls of a history: no fault, phase or bookkeeping event."""
    return [
        op for op in join_operations(records) if op.process != "nemesis" and op.f not in BOOKKEEPING
    ]


def scatter_figure(run: VerifyRun, scenario: ScenarioResult, records: Sequence[Record]) -> str:
    """The figure of one scenario: its scatter and its spread table; empty without calls."""
    calls = store_calls(records)
    if not calls:
        return ""
    plot_id = f"lot-{run.slug}-{slug(scenario.name)}"
    title = f"{run.label}: {scenario.name}: latency over time"
    chart, drawn = latency_scatter(plot_id, title, records, calls, problem_operations(scenario))
    caption = f"{tag('b', esc(run.label))}: {esc(scenario.name)} · {len(calls)} calls"
    if drawn < len(calls):
        caption += f" ({drawn} drawn: every failed call kept, the others evenly thinned)"
    return tag(
        "figure",
        chart + tag("figcaption", caption) + spread_table(calls),
        class_="latency-over-time",
        id=plot_id,
    )


def operation_colors(calls: Sequence[Operation]) -> dict[str, str]:
    """A colour per operation name: its own when it has one, else a distinct spare."""
    names = list(dict.fromkeys(op.f for op in calls))
    spare = [c for c in series_colors(len(names) + len(OP_COLORS)) if c not in OP_COLORS.values()]
    others = iter(spare)
    return {name: OP_COLORS.get(name) or next(others) for name in names}


def latency_scatter(
    plot_id: str,
    title: str,
    records: Sequence[Record],
    calls: Sequence[Operation],
    problems: dict[int, str],
    width: float = PAGE_WIDTH,
) -> tuple[str, int]:
    """The SVG of one scatter, and how many calls it drew (see the module docstring)."""
    colors = operation_colors(calls)
    entries = [(name, color) for name, color in colors.items()]
    entries += [("× failed / unknown outcome", "#333333"), ("○ judged wrong", PROBLEM_COLOR)]
    entries += [("fault window", WINDOW_FILL), ("kill", KILL_LINE), ("damage", DAMAGE_LINE)]
    legend_svg, legend_height = legend(entries, 64, 34, width - 80)
    frame = Frame(width, 300 + legend_height, top=30 + legend_height + 6, bottom=40)
    ys = Scale.fitted([op.latency * 1000 for op in calls], frame.y0, frame.y1, log=True)
    frame.left = y_axis_margin(ys)
    end = max(max(record.time for record in records), 0.001)
    xs = Scale(0.0, end, frame.x0, frame.x1)
    shown = thinned(calls, lambda op: op.type != OK or op.index in problems, MAX_POINTS)
    parts = [svg_open(plot_id, width, frame.height, title), chart_title(title), legend_svg]
    parts += fault_shading(records, xs, frame)
    parts.append(x_axis(frame, xs, "seconds into the scenario"))
    parts.append(y_axis(frame, ys, "time in the store call (ms)"))
    parts += _dots(shown, colors, xs, ys)
    parts += _crosses([op for op in shown if op.type != OK], colors, xs, ys)
    parts += _rings([op for op in shown if op.index in problems], problems, xs, ys)
    return "".join(parts) + "</svg>", len(shown)


def _dots(calls: Sequence[Operation], colors: dict[str, str], xs: Scale, ys: Scale) -> list[str]:
    """The calls that succeeded: one path of round dots per operation, one dot per pixel."""
    parts = []
    for name, color in colors.items():
        pixels = dict.fromkeys(
            (round(xs.at(op.start)), round(ys.at(op.latency * 1000)))
            for op in calls
            if op.f == name and op.type == OK
        )
        if not pixels:
            continue
        count = sum(1 for op in calls if op.f == name and op.type == OK)
        d = "".join(f"M{x} {y}h0" for x, y in pixels)
        parts.append(
            element(
                "path",
                tooltip(f"{name}: {count} calls that succeeded"),
                class_="mark dots",
                d=d,
                stroke=color,
                stroke_width=3.5,
                stroke_linecap="round",
                stroke_opacity=0.6,
                fill="none",
            )
        )
    return parts


def _crosses(
    failed: Sequence[Operation], colors: dict[str, str], xs: Scale, ys: Scale
) -> list[str]:
    """A cross in its operation's colour for each call that failed or has no known outcome;
    the first :data:`MAX_TITLED_FAILURES` each with its own hover text, the rest in one path."""
    parts, bulk = [], []
    for number, op in enumerate(failed):
        x, y = xs.at(op.start), ys.at(op.latency * 1000)
        d = f"M{x - 3.5:.1f} {y - 3.5:.1f}l7 7m0 -7l-7 7"
        if number >= MAX_TITLED_FAILURES:
            bulk.append(d)
            continue
        parts.append(
            element(
                "path",
                tooltip(describe_call(op)),
                class_=f"mark failed {op.type}",
                d=d,
                stroke=colors[op.f],
                stroke_width=1.8,
            )
        )
    if bulk:
        words = tooltip(f"{len(bulk)} more calls that failed or have no known outcome")
        parts.append(
            element("path", words, class_="mark failed", d="".join(bulk), stroke="#333333")
        )
    return parts


def _rings(
    judged: Sequence[Operation], problems: dict[int, str], xs: Scale, ys: Scale
) -> list[str]:
    """A purple ring around each call a failed check names, with the check's words."""
    return [
        element(
            "circle",
            tooltip(f"{problems[op.index]} ({describe_call(op)})"),
            class_="mark judged",
            cx=xs.at(op.start),
            cy=ys.at(op.latency * 1000),
            r=5.5,
            fill="none",
            stroke=PROBLEM_COLOR,
            stroke_width=1.8,
        )
        for op in judged
    ]


def describe_call(op: Operation) -> str:
    """A call in one line: who, what, when, how long, how it ended.

    >>> op = Operation("writer-0", "save", "j1", FAIL, None, None, 1.5, 1.52, "OSError: EIO", 7)
    >>> describe_call(op)
    'op #7 writer-0 save(j1) at 1.500 s: 20 ms, fail: OSError: EIO'
    """
    what = f"{op.f}({op.job})" if op.job else op.f
    ended = op.type + (f": {op.error}" if op.error else "")
    latency = format_number(op.latency * 1000)
    return f"op #{op.index} {op.process} {what} at {op.start:.3f} s: {latency} ms, {ended}"


def spread_table(calls: Sequence[Operation]) -> str:
    """Per operation: calls, failed, p50, IQR (p25 to p75), p99 and max of the calls that
    succeeded, in ms: a tail (p99) is read against the usual spread (IQR), not alone."""
    rows = [table_row(("operation", "calls", "failed", "p50", "IQR (p25-p75)", "p99", "max"), "th")]
    for name in dict.fromkeys(op.f for op in calls):
        mine = [op for op in calls if op.f == name]
        failed = sum(1 for op in mine if op.type in (FAIL, INFO))
        ms = sorted(op.latency * 1000 for op in mine if op.type == OK)
        if not ms:
            rows.append(table_row((esc(name), str(len(mine)), str(failed), "-", "-", "-", "-")))
            continue
        p25, p75 = stats.percentile(ms, 25), stats.percentile(ms, 75)
        spread = f"{format_number(p75 - p25)} ({format_number(p25)}-{format_number(p75)})"
        cells = (
            esc(name),
            str(len(mine)),
            str(failed),
            format_number(stats.percentile(ms, 50)),
            spread,
            format_number(stats.percentile(ms, 99)),
            format_number(ms[-1]),
        )
        rows.append(table_row(cells))
    return tag("table", "".join(rows), class_="spread")
