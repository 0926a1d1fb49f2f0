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
    hits the store's files), the keys of its TOML table in order, how to say it, the checkers
    that judge what it does, and the faults that may replace it in a deterministic twin (a
    random-time kill: kills at a system call), all set where it is drawn (:mod:`.strategies`)."""

    kind: str
    target: str | None
    keys: tuple[tuple[str, object], ...] = ()
    label: str = ""
    checkers: tuple[str, ...] = ()
    in_turns: tuple[Fault, ...] = ()  # what may stand in for it in a deterministic twin


@dataclass(frozen=True)
class PowerCut:
    """Power cut during the store's own calls: a ``powerloss`` scenario instead of processes.

    The store's system calls are traced and every on-disk state a cut could leave is opened
    after a restart (:mod:`harness.nemesis.powerloss`): ``sequences`` 0 cuts a save and an
    update of one job, 1-3 every sequence of up to that many operations; ``max_states`` states
    a call (a seeded sample above it), ``page_samples`` out-of-order page write-backs a file,
    ``recover_cuts`` second cuts during ``recover()``.
    """

    sequences: int
    max_states: int
    page_samples: int
    recover_cuts: int

    def label(self) -> str:
        what = (
            f"every sequence of up to {self.sequences} operations"
            if self.sequences
            else "a save and an update"
        )
        return (
            f"power cut during {what} ({self.max_states} states a call, {self.page_samples} "
            f"page variants, {self.recover_cuts} cuts in recover)"
        )

    def options(self) -> list[tuple[str, int]]:
        keys = [("max_states", self.max_states), ("page_samples", self.page_samples)]
        keys.append(("recover_cuts", self.recover_cuts))
        return [("sequences", self.sequences), *keys] if self.sequences else keys


POWER_CHECKERS = ("crash_consistency", "crash_backup", "crash_litter")


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
    power_cut: PowerCut | None = None  # set: a power-loss scenario (the processes are unused)

    @property
    def deterministic(self) -> bool:
        """Replays with the same operation numbers: in turns, or a power cut's exploration."""
        return self.turns is not None or self.power_cut is not None

    def fault_count(self) -> int:
        return 1 if self.power_cut else len(self.faults)

    def process_count(self) -> int:
        return 1 if self.power_cut else sum(group.count for group in self.processes)

    def size(self) -> tuple[int, ...]:
        """What makes one failing schedule smaller than another, in order: fewer faults and
        processes, then deterministic (its failure replays with the same operation numbers),
        then fewer jobs, payload sizes, bytes and turns."""
        return (
            self.fault_count(),
            self.process_count(),
            int(not self.deterministic),
            self.jobs,
            len(self.payload_bytes),
            max(self.payload_bytes),
            self.turns or 0,
        )

    def roles(self) -> set[str]:
        return {group.role for group in self.processes}

    def checkers(self) -> list[str]:
        """The checkers that bear on this schedule's roles and faults."""
        if self.power_cut:
            return list(POWER_CHECKERS)
        names = list(BASE_CHECKERS)
        for role in sorted(self.roles()):
            names += ROLE_CHECKERS.get(role, ())
        for fault in self.faults:
            names += fault.checkers
        return list(dict.fromkeys(names))

    def describe(self) -> str:
        """One line: ``2 writer, 1 reader; kill writer-0 at rename #1, damage main (empty); 40 turns``."""
        if self.power_cut:
            return f"{self.power_cut.label()}; {_sizes(self.payload_bytes)}"
        who = ", ".join(f"{group.count} {group.role}" for group in self.processes)
        what = ", ".join(fault.label or fault.kind for fault in self.faults) or "no fault"
        how = f"; {self.turns} turns" if self.turns else "; free-running"
        return f"{who}; {what}{how}"


def to_toml(schedule: Schedule, name: str, header: str = "", seed: int | None = None) -> str:
    """The schedule as a scenario file the loader validates and ``jobharness run`` replays
    (with ``seed``, always with that seed: a found failure replays as it was found)."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    lines += [
        f"name = {_value(name)}",
        f"description = {_value('Found by jobharness hunt: ' + schedule.describe())}",
        f"checkers = {_value(schedule.checkers())}",
    ]
    lines += [f"seed = {seed}"] if seed is not None else []
    if schedule.power_cut:
        return "\n".join([*lines, *_power_cut_tables(schedule, schedule.power_cut)]) + "\n"
    lines += [
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


def _power_cut_tables(schedule: Schedule, cut: PowerCut) -> list[str]:
    lines = ['kind = "powerloss"', "", "[options]"]
    lines += [f"{key} = {value}" for key, value in cut.options()]
    lines += ["", "[workload]", f"jobs = {schedule.jobs}"]
    return [*lines, f"payload_bytes = {max(schedule.payload_bytes)}"]


def _sizes(sizes: tuple[int, ...]) -> str:
    return f"{max(sizes)} B"


def _value(value: object) -> str:
    """A TOML value: JSON's spelling of strings, numbers and lists is TOML's too."""
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)
