"""What a timeline is made of: lanes, fault windows and markers, and how each level is drawn.

A timeline (:class:`Timeline`) has one :class:`Lane` per process (its incarnations share it: see
:func:`lane_of`), each a row of time buckets holding the worst level of the operations in
progress then (:data:`IDLE` < ok < fail < info < judged wrong), the :class:`Window` of each fault
while it was in force and the :class:`Marker` of each instant (a kill, a damage, a phase, an
operation judged wrong). :mod:`harness.report.timeline` builds one from a history and draws it;
the colours and words here are shared with the page's legend.

>>> lane_of("writer-1.2"), sorted(["final", "reader-10", "reader-2", "setup"], key=lane_order)
('writer-1', ['setup', 'reader-2', 'reader-10', 'final'])
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from harness.history.fault_windows import STOPPED
from harness.history.log import FAIL, INFO, OK, Operation

IDLE, OK_LEVEL, FAIL_LEVEL, INFO_LEVEL, PROBLEM_LEVEL = 0, 1, 2, 3, 4
LEVEL_OF = {OK: OK_LEVEL, FAIL: FAIL_LEVEL, INFO: INFO_LEVEL}
LEVEL_COLORS = {
    OK_LEVEL: "#8fd19e",
    FAIL_LEVEL: "#f4a3a0",
    INFO_LEVEL: "#f0d44a",
    PROBLEM_LEVEL: "#542788",
}
LEVEL_NAMES = {  # level: (CSS class of its path, words for the legend and tooltips)
    OK_LEVEL: ("ok", "ok"),
    FAIL_LEVEL: ("fail", "fail"),
    INFO_LEVEL: ("info", "info (outcome unknown)"),
    PROBLEM_LEVEL: ("problem", "judged wrong by a check"),
}
WINDOW_STYLE = {  # kind: (colour, opacity, in words); it shades its process's lane, or all lanes
    "diskfault": ("#D55E00", 0.16, "disk errors injected"),
    "slowdisk": ("#0072B2", 0.14, "slow fsync"),
    "diskfull": ("#777777", 0.07, "on a small tmpfs"),  # not full yet
    "fill-disk": ("#CC79A7", 0.22, "disk full"),  # filled to the last byte
}
EFFECT_STYLE = {  # a fault kind not in WINDOW_STYLE is drawn by what it did
    STOPPED: ("#009E73", 0.18, "process stopped (SIGSTOP)"),
}
BUCKETS = 400
MAX_TITLED_PROBLEMS = 25  # operations judged wrong that get their own hover marker
INCARNATION = re.compile(r"\.\d+$")

LABEL_WIDTH = 120
LANE_HEIGHT, LANE_GAP = 12, 4
LANE_BACKGROUND = "#f3f3f3"
TOP = 36  # room for the phase labels above the fault lane
KILL_COLOR, CRASH_COLOR, DAMAGE_COLOR = "#b10026", "#6a3d9a", "#E69F00"


@dataclass(frozen=True)
class Lane:
    """One process (all its incarnations): the worst level in each time bucket, and counts.

    For the hover text of each bar: ``started`` holds how many operations began in each bucket
    and ``slowest`` the slowest operation at the bucket's level (the slowest *failed* one in a
    pink bucket), or None in an idle bucket.
    """

    name: str
    levels: tuple[int, ...]
    counts: dict[str, int]
    restarts: tuple[float, ...] = ()
    started: tuple[int, ...] = ()
    slowest: tuple[Operation | None, ...] = ()


@dataclass(frozen=True)
class Window:
    """A fault in force from ``start`` to ``end``, on one process (its lane) or on all."""

    kind: str
    start: float
    end: float
    label: str
    process: str | None = None
    effect: str = ""  # what the fault did (harness.history.fault_windows): styles a kind not listed


@dataclass(frozen=True)
class Marker:
    """An instant on the timeline, named by what happened, never by which fault did it.

    ``kind`` is one of ``killed``, ``crashed``, ``damaged``, ``phase`` or ``problem`` (an
    operation judged wrong): a kill at a system call and a random kill draw the same mark.
    """

    kind: str
    time: float
    label: str
    process: str | None = None


@dataclass(frozen=True)
class Timeline:
    """What :func:`render_timeline` draws, built from a history by :func:`build_timeline`."""

    duration: float
    lanes: list[Lane]
    windows: list[Window] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    problems: int = 0
    judged: dict[int, str] = field(default_factory=dict)  # operation index: why it was wrong

    def counts(self) -> Counter[str]:
        """Completions of every lane together: ok, fail, info."""
        total: Counter[str] = Counter()
        for lane in self.lanes:
            total.update(lane.counts)
        return total


def lane_of(process: str) -> str:
    """A process's lane: its name without the incarnation suffix (``writer-1.2``: ``writer-1``)."""
    return INCARNATION.sub("", process)


def lane_order(name: str) -> tuple[int, str, int]:
    """Setup first, then the roles (``reader-2`` before ``reader-10``), restart, final last."""
    role, _, number = name.rpartition("-")
    rank = {"setup": 0, "restart": 2, "final": 3}.get(name, 1)
    return (rank, role or name, int(number) if number.isdigit() else -1)
