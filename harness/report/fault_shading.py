"""What every latency-against-time scatter shares: the faults drawn behind it, and thinning.

Both scatters of the page, the HTTP requests of a service run (:mod:`.requests_section`) and
the store calls of a store scenario (:mod:`.scatter_section`), put time since the scenario
began across and a latency up, and draw the faults under the dots the same way, read from the
history by the one fault reader (:func:`harness.history.fault_windows.read_faults`):

* a **shaded band** from a fault window's start to its end (a disk fault, a slow fsync, a full
  disk, a pause), its tooltip naming the fault and the process it was armed on;
* a **dashed line** at each kill (black) and each damage to a job file (purple).

A chart of tens of thousands of dots costs megabytes, so :func:`thinned` keeps every item that
matters (a failed call, a 5xx) and an evenly spaced, deterministic share of the others::

    >>> thinned(list(range(10)), lambda n: n == 7, 4)
    [7, 0, 3, 6]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from harness.history.fault_windows import DAMAGED, KILLED, read_faults
from harness.history.log import Record
from harness.report.svg import Frame, Scale, element, tooltip

T = TypeVar("T")

WINDOW_FILL = "#fdae61"
KILL_LINE, DAMAGE_LINE = "#000000", "#984ea3"


def fault_shading(records: Sequence[Record], xs: Scale, frame: Frame) -> list[str]:
    """The fault windows of ``records`` as bands over ``frame``, and kills and damages as lines.

    Drawn first, so the dots stay on top; ``xs`` maps seconds into the scenario to pixels.
    """
    faults = read_faults(records)
    parts = []
    for window in faults.windows:
        x0, x1 = xs.at(window.start), xs.at(min(window.end, xs.high))
        label = tooltip(
            f"{window.label or window.kind} ({window.process or 'every process'}), "
            f"{window.start:.2f} s to {window.end:.2f} s"
        )
        parts.append(
            element(
                "rect",
                label,
                class_="fault-window",
                x=f"{x0:.1f}",
                y=frame.y1,
                width=f"{max(1.0, x1 - x0):.1f}",
                height=frame.y0 - frame.y1,
                fill=WINDOW_FILL,
                fill_opacity=0.25,
            )
        )
    for mark in faults.marks:
        if mark.effect not in (KILLED, DAMAGED):
            continue
        x = xs.at(mark.op.start)
        color = KILL_LINE if mark.effect == KILLED else DAMAGE_LINE
        title = tooltip(f"{mark.label or mark.kind} at {mark.op.start:.3f} s")
        parts.append(
            element(
                "line",
                title,
                x1=f"{x:.1f}",
                y1=frame.y1,
                x2=f"{x:.1f}",
                y2=frame.y0,
                stroke=color,
                stroke_dasharray="3 2",
            )
        )
    return parts


def thinned(items: Sequence[T], keep: Callable[[T], bool], limit: int) -> list[T]:
    """At most ``limit`` of ``items`` (more only if more must be kept): every item ``keep``
    says yes to, then the others evenly spaced, the first always among them. Deterministic: the
    same history draws the same chart."""
    if len(items) <= limit:
        return list(items)
    kept = [item for item in items if keep(item)]
    others = [item for item in items if not keep(item)]
    room = max(0, limit - len(kept))
    if room == 0 or not others:
        return kept
    step = len(others) / room
    return kept + [others[int(n * step)] for n in range(min(room, len(others)))]
