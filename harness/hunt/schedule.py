"""A fault schedule: the processes of a short scenario and the faults that hit them, as data.

``jobharness hunt`` draws schedules with Hypothesis (:mod:`harness.hunt.strategies`), runs each
as a scenario, and shrinks a failing one. A :class:`Schedule` is plain frozen data so that
Hypothesis can shrink it (fewer processes, fewer faults, smaller numbers) and so that the one it
ends with is written as an ordinary scenario file (:func:`to_toml`) that ``jobharness run``
replays and a person can read::

    >>> kill = Fault("kill", "writer-0", (("at", "syscall"), ("syscall", "rename"), ("nth", 1)),
    ...              "kill writer-0 at rename #1", ("no_litter",))
    >>> schedule = Schedule(jobs=1, payload_bytes=(100,), duration=0.5,
    ...     processes=(Processes("writer", 1), Processes("reader", 1)), faults=(kill,))
    >>> schedule.size()
    (1, 2, 1, 1, 1, 100, 0)
    >>> print(to_toml(schedule, "hunt-1").splitlines()[0])
    name = "hunt-1"
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# The store checkers a hunt judges by (the latency ones need a quiet machine, not a hunt); the
# ones that need a role are added only when that role runs.
BASE_CHECKERS = ("never_raises", "no_torn_read", "acknowledged_writes_survive", "clear_errors")
ROLE_CHECKERS = {
    "updater": ("no_lost_update",),
    "worker": ("terminal_state", "no_litter", "no_descriptor_leak"),
}


@dataclass(frozen=True)
class Processes:
    """``count`` processes of one role (writer, reader, updater, worker)."""

    role: str
    count: int


@dataclass(frozen=True)
class Fault:
    """One fault: its kind, its target (a process such as ``writer-0``; None for damage, which
    hits the store's files), the keys of its TOML table in order, how to say it, and the
    checkers that judge what it does (all set where it is drawn, :mod:`.strategies`)."""

    kind: str
    target: str | None
    keys: tuple[tuple[str, object], ...] = ()
    label: str = ""
    checkers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schedule:
    """A short scenario: the jobs, payload sizes, main-phase length, processes and faults.

    ``turns``: the store calls of a deterministic main phase (the processes take turns, so a
    seed fixes their interleaving and a replay has the same operation numbers); None: the
    processes run free, as in production, which only a race between two calls needs.
    """

    jobs: int
    payload_bytes: tuple[int, ...]
    duration: float
    processes: tuple[Processes, ...]
    faults: tuple[Fault, ...]
    turns: int | None = None

    def size(self) -> tuple[int, ...]:
        """What shrinking makes smaller, in order: faults, processes, free-running (a
        deterministic schedule is the simpler), jobs, payload sizes, bytes, turns."""
        return (
            len(self.faults),
            sum(group.count for group in self.processes),
            int(self.turns is None),
            self.jobs,
            len(self.payload_bytes),
            max(self.payload_bytes),
            self.turns or 0,
        )

    def roles(self) -> set[str]:
        return {group.role for group in self.processes}

    def checkers(self) -> list[str]:
        """The checkers that bear on this schedule's roles and faults."""
        names = list(BASE_CHECKERS)
        for role in sorted(self.roles()):
            names += ROLE_CHECKERS.get(role, ())
        for fault in self.faults:
            names += fault.checkers
        return list(dict.fromkeys(names))

    def describe(self) -> str:
        """One line: ``2 writer, 1 reader; kill writer-0 at rename #1, damage main (empty); 40 turns``."""
        who = ", ".join(f"{group.count} {group.role}" for group in self.processes)
        what = ", ".join(fault.label or fault.kind for fault in self.faults) or "no fault"
        how = f"; {self.turns} turns" if self.turns else "; free-running"
        return f"{who}; {what}{how}"


def to_toml(schedule: Schedule, name: str, header: str = "") -> str:
    """The schedule as a scenario file the loader validates and ``jobharness run`` replays."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    lines += [
        f"name = {_value(name)}",
        f"description = {_value('Found by jobharness hunt: ' + schedule.describe())}",
        f"checkers = {_value(schedule.checkers())}",
        "",
        "[options]",
        "recover_on_restart = true",
        "",
        "[workload]",
        f"jobs = {schedule.jobs}",
        f"payload_bytes = {_value(list(schedule.payload_bytes))}",
        f"duration = {schedule.duration}",
    ]
    if schedule.turns:
        lines += ["deterministic = true", f"turns = {schedule.turns}"]
    for group in schedule.processes:
        lines += ["", "[[processes]]", f"role = {_value(group.role)}", f"count = {group.count}"]
        if group.role in ("writer", "worker"):
            lines.append("restart = true")  # a killed writer or worker comes back and recovers
    for fault in schedule.faults:
        lines += ["", "[[faults]]", f"kind = {_value(fault.kind)}"]
        if fault.target is not None:
            lines.append(f"target = {_value(fault.target)}")
        lines += [f"{key} = {_value(value)}" for key, value in fault.keys]
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    """A TOML value: JSON's spelling of strings, numbers and lists is TOML's too."""
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)
