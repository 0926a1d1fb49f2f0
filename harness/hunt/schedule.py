"""A fault schedule: the processes of a short scenario and the faults that hit them, as data.

``jobharness hunt`` draws schedules with Hypothesis (:mod:`harness.hunt.strategies`), runs each
as a scenario, and shrinks a failing one. A :class:`Schedule` is plain frozen data so that
Hypothesis can shrink it (fewer processes, fewer faults, smaller numbers) and so that the one it
ends with is written as an ordinary scenario file (:func:`to_toml`) that ``jobharness run``
replays and a person can read::

    >>> schedule = Schedule(jobs=1, payload_bytes=(100,), duration=0.5,
    ...     processes=(Processes("writer", 1), Processes("reader", 1)),
    ...     faults=(Fault("kill", "writer-0", (("at", "syscall"), ("syscall", "rename"), ("nth", 1))),))
    >>> schedule.size()
    (1, 2, 1, 1, 100)
    >>> print(to_toml(schedule, "hunt-1").splitlines()[0])
    name = "hunt-1"
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# The store checkers a hunt judges by (the latency ones need a quiet machine, not a hunt); the
# ones that need a role are added only when that role runs.
BASE_CHECKERS = ("never_raises", "no_torn_read", "acknowledged_writes_survive", "clear_errors")
ROLE_CHECKERS = {"updater": ("no_lost_update",), "worker": ("terminal_state",)}
KILL_CHECKERS = ("no_litter", "no_descriptor_leak")
DAMAGE_CHECKERS = ("recovery_to_last_good",)


@dataclass(frozen=True)
class Processes:
    """``count`` processes of one role (writer, reader, updater, worker)."""

    role: str
    count: int


@dataclass(frozen=True)
class Fault:
    """One fault: its kind, its target (a process such as ``writer-0``, a role, or the store's
    files) and the keys of its TOML table, in order."""

    kind: str
    target: str
    keys: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Schedule:
    """A short scenario: the jobs, payload sizes, main-phase length, processes and faults."""

    jobs: int
    payload_bytes: tuple[int, ...]
    duration: float
    processes: tuple[Processes, ...]
    faults: tuple[Fault, ...]

    def size(self) -> tuple[int, int, int, int, int]:
        """What shrinking makes smaller, in order: faults, processes, jobs, payload sizes, bytes."""
        return (
            len(self.faults),
            sum(group.count for group in self.processes),
            self.jobs,
            len(self.payload_bytes),
            max(self.payload_bytes),
        )

    def roles(self) -> set[str]:
        return {group.role for group in self.processes}

    def checkers(self) -> list[str]:
        """The checkers that bear on this schedule's roles and faults."""
        names = list(BASE_CHECKERS)
        for role in sorted(self.roles()):
            names += ROLE_CHECKERS.get(role, ())
        kinds = {fault.kind for fault in self.faults}
        if kinds & {"kill", "diskfault", "fullfs"} or "worker" in self.roles():
            names += KILL_CHECKERS
        if "damage" in kinds:
            names += DAMAGE_CHECKERS
        return list(dict.fromkeys(names))

    def describe(self) -> str:
        """One line: ``2 writer, 1 reader; kill writer-0 at rename #1, damage main (empty)``."""
        who = ", ".join(f"{group.count} {group.role}" for group in self.processes)
        what = ", ".join(_describe_fault(fault) for fault in self.faults) or "no fault"
        return f"{who}; {what}"


def _describe_fault(fault: Fault) -> str:
    keys = dict(fault.keys)
    if fault.kind == "kill" and keys.get("at") == "syscall":
        return f"kill {fault.target} at {keys['syscall']} #{keys['nth']}"
    if fault.kind == "damage":
        return f"damage {keys.get('file', 'main')} ({', '.join(keys.get('how', ()))})"  # type: ignore[arg-type]
    details = ", ".join(f"{k}={v}" for k, v in fault.keys)
    return f"{fault.kind} {fault.target}" + (f" ({details})" if details else "")


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
    for group in schedule.processes:
        lines += ["", "[[processes]]", f"role = {_value(group.role)}", f"count = {group.count}"]
        if group.role in ("writer", "worker"):
            lines.append("restart = true")  # a killed writer or worker comes back and recovers
    for fault in schedule.faults:
        lines += ["", "[[faults]]", f"kind = {_value(fault.kind)}"]
        if fault.kind != "damage":
            lines.append(f"target = {_value(fault.target)}")
        lines += [f"{key} = {_value(value)}" for key, value in fault.keys]
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    """A TOML value: JSON's spelling of strings, numbers and lists is TOML's too."""
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)
