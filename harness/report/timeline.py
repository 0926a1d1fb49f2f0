"""Scenario timelines, drawn as Jepsen draws them: time across, one lane per process, faults shaded.

How to read one: each process of the scenario has a lane (a killed process and the incarnations
that replaced it share one: ``writer-1``, ``writer-1.1``, ... with a black tick where each new
incarnation started). An operation is a bar from its invoke to its completion, coloured by how it
completed: green *ok*, pink *fail* (it certainly did not happen), yellow *info* (unknown: killed
mid-call, or a write that raised), and purple for an operation a failed check names in its
evidence (a torn, stale or lost read, a failed recovery, a call that raised). The top lane holds
the faults: a red line across every lane where a process was killed, an orange triangle where a
job file was damaged, shaded windows while a disk fault or a slow disk was armed on a process
(its own lane shaded too) or while the disk was full (every lane shaded). Grey dashed lines mark
the phases (main, restart, final).

Tens of thousands of operations do not fit as separate bars in 800 pixels, so each lane is cut
into time buckets (about 2 px each) and a bucket takes the colour of the *worst* operation in
progress during it (judged wrong > info > fail > ok): a single bad read among thousands of good
ones stays visible. Runs of equal buckets become one bar and each colour is one ``<path>``, so a
scenario of 10,000 operations costs a few kilobytes of SVG.

:func:`build_timeline` turns a history into a :class:`~harness.report.timeline_model.Timeline`
(what it is made of, and the colours, are :mod:`harness.report.timeline_model`) and
:func:`render_timeline` draws it.

>>> from harness.history.log import Record
>>> records = [
...     Record("writer-0", "invoke", "save", "j0", None, 0.00, index=0),
...     Record("writer-0", "ok", "save", "j0", None, 0.01, index=1),
...     Record("nemesis", "invoke", "kill", None, {"process": "writer-0"}, 0.02, index=2),
...     Record("nemesis", "ok", "kill", None, {"process": "writer-0"}, 0.02, index=3),
... ]
>>> timeline = build_timeline(records)
>>> [lane.name for lane in timeline.lanes], [marker.kind for marker in timeline.markers]
(['writer-0'], ['killed'])
>>> render_timeline("tl-demo", "demo", timeline).count('class="mark')
2
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from harness.history.fault_windows import DAMAGED, KILLED, read_faults
from harness.history.log import Operation, Record, join_operations
from harness.report.svg import PAGE_WIDTH, Scale, element, format_number, svg_open, text, tooltip
from harness.report.timeline_hover import lane_runs
from harness.report.timeline_model import (
    BUCKETS,
    CRASH_COLOR,
    DAMAGE_COLOR,
    EFFECT_STYLE,
    IDLE,
    INFO_LEVEL,
    KILL_COLOR,
    LABEL_WIDTH,
    LANE_BACKGROUND,
    LANE_GAP,
    LANE_HEIGHT,
    LEVEL_COLORS,
    LEVEL_OF,
    MAX_TITLED_PROBLEMS,
    PROBLEM_LEVEL,
    TOP,
    WINDOW_STYLE,
    Lane,
    Marker,
    Timeline,
    Window,
    lane_of,
    lane_order,
)


def build_timeline(
    records: Sequence[Record], problems: dict[int, str] | None = None, buckets: int = BUCKETS
) -> Timeline:
    """Lanes, fault windows and markers of one scenario's history (see the module docstring).

    ``problems`` are the operations judged wrong, by index, with the words why: those a failed
    check names in its evidence (:func:`harness.report.html.problem_operations`).
    """
    problems = problems or {}
    marked = 0
    duration = max((r.time for r in records), default=0.0) or 1e-3
    width = duration / buckets
    levels: dict[str, list[int]] = {}
    started: dict[str, list[int]] = {}  # per bucket: how many operations began in it
    slowest: dict[str, list[Operation | None]] = {}  # per bucket: the slowest at its level
    counts: dict[str, Counter[str]] = {}
    restarts: dict[str, list[float]] = {}
    markers: list[Marker] = []
    for op in join_operations(records):
        if op.process == "nemesis":
            continue
        lane = lane_of(op.process)
        cells = levels.setdefault(lane, [IDLE] * buckets)
        slow = slowest.setdefault(lane, [None] * buckets)
        counts.setdefault(lane, Counter())[op.type] += 1
        level = PROBLEM_LEVEL if op.index in problems else LEVEL_OF.get(op.type, INFO_LEVEL)
        first = min(int(op.start / width), buckets - 1)
        last = min(int(op.end / width), buckets - 1)
        started.setdefault(lane, [0] * buckets)[first] += 1
        for bucket in range(first, last + 1):
            if cells[bucket] < level:  # a worse operation: it gives the bucket its colour
                cells[bucket], slow[bucket] = level, op
            elif cells[bucket] == level and _slower(op, slow[bucket]):
                slow[bucket] = op
        if op.f == "open" and lane != op.process:
            restarts.setdefault(lane, []).append(op.start)
        if level == PROBLEM_LEVEL:
            marked += 1
            if len(markers) < MAX_TITLED_PROBLEMS:
                markers.append(Marker("problem", op.start, problems[op.index], lane))
    windows, fault_markers = _faults(records, duration)
    lanes = [
        Lane(
            name,
            tuple(levels[name]),
            dict(counts[name]),
            tuple(restarts.get(name, ())),
            tuple(started[name]),
            tuple(slowest[name]),
        )
        for name in sorted(levels, key=lane_order)
    ]
    judged = {index: words for index, words in problems.items()}
    return Timeline(duration, lanes, windows, fault_markers + markers, marked, judged)


def _slower(op: Operation, than: Operation | None) -> bool:
    return than is None or op.latency > than.latency


def _faults(records: Sequence[Record], duration: float) -> tuple[list[Window], list[Marker]]:
    """The faults as windows (armed .. released) and instant markers, and the phases and crashes.

    Fault windows, kills and damage come from the history's fault vocabulary
    (:mod:`harness.history.fault_windows`), so a new fault kind is drawn with no edit here.
    """
    faults = read_faults(records)
    windows = [
        Window(
            window.kind,
            window.start,
            min(window.end, duration),
            window.label,
            lane_of(window.process) if window.process else None,
            window.effect,
        )
        for window in faults.windows
    ]
    markers: list[Marker] = []
    for mark in faults.marks:
        target = lane_of(mark.process) if isinstance(mark.process, str) else None
        if mark.effect == KILLED:
            markers.append(Marker("killed", mark.op.start, f"kill {target}: {mark.how}", target))
        elif mark.effect == DAMAGED:
            markers.append(Marker("damaged", mark.op.start, mark.label))
    for record in records:
        if record.process != "nemesis" or record.type == "invoke":
            continue
        value: dict[str, Any] = record.value if isinstance(record.value, dict) else {}
        target = value.get("process")
        target = lane_of(target) if isinstance(target, str) else None
        if record.f == "crash":
            markers.append(
                Marker(
                    "crashed", record.time, f"{target} crashed (exit {value.get('exit')})", target
                )
            )
        elif record.f == "phase":
            markers.append(Marker("phase", record.time, str(value.get("phase", "phase"))))
    return windows, sorted(markers, key=lambda marker: marker.time)


# ---------------------------------------------------------------- drawing


def render_timeline(plot_id: str, title: str, timeline: Timeline, width: float = PAGE_WIDTH) -> str:
    """The SVG of one timeline: fault lane, process lanes, shading, markers and a time axis."""
    lanes_top = TOP + LANE_HEIGHT + 8
    bottom = lanes_top + len(timeline.lanes) * (LANE_HEIGHT + LANE_GAP)
    height = bottom + 30
    scale = Scale(0.0, timeline.duration, LABEL_WIDTH, width - 12)
    row = {
        lane.name: lanes_top + i * (LANE_HEIGHT + LANE_GAP) for i, lane in enumerate(timeline.lanes)
    }
    parts = [svg_open(plot_id, width, height, title), _lane("faults", TOP, scale)]
    for lane in timeline.lanes:
        runs = f" ({len(lane.restarts) + 1} runs)" if lane.restarts else ""
        parts.append(_lane(lane.name + runs, row[lane.name], scale))
    parts.extend(_windows(timeline, scale, row, bottom))
    parts.extend(lane_runs(timeline, scale, row))
    parts.extend(_restarts(timeline, scale, row))
    parts.extend(_markers(timeline, scale, row, bottom))
    parts.append(_time_axis(scale, bottom + 2))
    parts.append("</svg>")
    return "".join(parts)


def _lane(label: str, y: float, scale: Scale) -> str:
    """A lane's name and its grey background (idle time stays visible as grey)."""
    name = text(LABEL_WIDTH - 6, y + LANE_HEIGHT - 2, label, anchor="end", color="#222")
    width = scale.end - scale.start
    return name + element(
        "rect", x=scale.start, y=y, width=width, height=LANE_HEIGHT, fill=LANE_BACKGROUND
    )


def _windows(timeline: Timeline, scale: Scale, row: dict[str, float], bottom: float) -> list[str]:
    """Shading while a fault is in force: its process's lane, or every lane; a bar on top."""
    parts = []
    for window in timeline.windows:
        color, opacity, words = WINDOW_STYLE.get(window.kind) or EFFECT_STYLE.get(
            window.effect, ("#777777", 0.1, window.kind)
        )
        x = scale.at(window.start)
        span = max(scale.at(window.end) - x, 1.0)
        on = f" on {window.process}" if window.process else ""
        tip = tooltip(
            f"{words}{on}: {window.label} "
            f"({format_number(window.start)} s to {format_number(window.end)} s)"
        )
        lane_y = row.get(window.process or "")
        if window.process and lane_y is not None:  # one process's fault: shade its lane
            parts.append(
                element(
                    "rect",
                    x=x,
                    y=lane_y - 2,
                    width=span,
                    height=LANE_HEIGHT + 4,
                    fill=color,
                    fill_opacity=round(opacity * 1.6, 2),
                )
            )
        else:
            parts.append(
                element(
                    "rect",
                    x=x,
                    y=TOP,
                    width=span,
                    height=bottom - TOP,
                    fill=color,
                    fill_opacity=opacity,
                )
            )
        parts.append(
            element(
                "rect",
                tip,
                class_="mark fault-window",
                x=x,
                y=TOP + 2,
                width=span,
                height=LANE_HEIGHT - 4,
                fill=color,
                fill_opacity=0.7,
            )
        )
    return parts


def _restarts(timeline: Timeline, scale: Scale, row: dict[str, float]) -> list[str]:
    """A black tick where a new incarnation of a killed process started."""
    parts = []
    for lane in timeline.lanes:
        y = row[lane.name]
        for at in lane.restarts:
            x = scale.at(at)
            tip = tooltip(
                f"{lane.name}: a new incarnation started at {format_number(at)} s "
                "(it calls recover() first)"
            )
            parts.append(
                element(
                    "line",
                    tip,
                    x1=x,
                    y1=y - 2,
                    x2=x,
                    y2=y + LANE_HEIGHT + 2,
                    stroke="#000",
                    stroke_width=1.5,
                )
            )
    return parts


def _markers(timeline: Timeline, scale: Scale, row: dict[str, float], bottom: float) -> list[str]:
    """Phases (dashed), kills and crashes (a line across every lane), damage, operations judged
    wrong."""
    parts = []
    last_label = -1e9
    middle = TOP + LANE_HEIGHT / 2
    for marker in sorted(timeline.markers, key=lambda m: m.time):
        x = scale.at(marker.time)
        tip = tooltip(f"{marker.label} at {format_number(marker.time)} s")
        if marker.kind == "phase":
            line = element(
                "line",
                tip,
                x1=x,
                y1=TOP - 12,
                x2=x,
                y2=bottom,
                stroke="#999",
                stroke_dasharray="3 3",
            )
            parts.append(line)
            if x - last_label > 44 and not marker.label.endswith("-end"):  # labels must not overlap
                fits = x + 2 + len(marker.label) * 5.5 < scale.end
                anchor, at = ("start", x + 2) if fits else ("end", x - 2)
                parts.append(text(at, TOP - 4, marker.label, size=9, color="#777", anchor=anchor))
                last_label = x
        elif marker.kind in ("killed", "crashed"):
            color = KILL_COLOR if marker.kind == "killed" else CRASH_COLOR
            line = element("line", x1=x, y1=TOP, x2=x, y2=bottom, stroke=color, stroke_width=1.2)
            cross = element(
                "path",
                d=f"M{x - 4:.1f} {middle - 4:.1f}l8 8m0 -8l-8 8",
                stroke=color,
                stroke_width=2,
            )
            parts.append(element("g", tip + line + cross, class_=f"mark fault-{marker.kind}"))
        elif marker.kind == "damaged":
            parts.append(
                element(
                    "path",
                    tip,
                    class_="mark fault-damaged",
                    d=f"M{x - 5:.1f} {TOP + 1}h10l-5 {LANE_HEIGHT - 2}z",
                    fill=DAMAGE_COLOR,
                    stroke="#8a5a00",
                    stroke_width=0.6,
                )
            )
        elif marker.kind == "problem" and marker.process in row:
            y = row[marker.process]
            parts.append(
                element(
                    "path",
                    tip,
                    class_="mark problem",
                    d=f"M{x - 3.5:.1f} {y - 5:.0f}h7l-3.5 5z",
                    fill=LEVEL_COLORS[PROBLEM_LEVEL],
                )
            )
    return parts


def _time_axis(scale: Scale, y: float) -> str:
    """Seconds since the scenario began, on round ticks."""
    parts = [element("line", x1=scale.start, y1=y, x2=scale.end, y2=y, stroke="#555")]
    nice = Scale.fitted([0.0, scale.high], scale.start, scale.end, zero=True)
    for tick in nice.ticks():
        if tick > scale.high + 1e-9:
            continue
        x = scale.at(tick)
        parts.append(element("line", x1=x, y1=y, x2=x, y2=y + 4, stroke="#555"))
        parts.append(text(x, y + 15, f"{format_number(tick)} s", anchor="middle", size=10))
    parts.append(text(scale.start - 16, y + 15, "time", anchor="end", size=10))
    return "".join(parts)
