"""Never raises: ``get_job`` never raised; ``save_job`` and ``update_job`` raised only under an
injected disk fault; no store call hung; no process died by itself.

``get_job`` raising is what became HTTP 500 in the incident. A write that raises while
the harness is failing its system calls (or the disk is full) is the *right* behaviour: a write
that could not be made durable must not be acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checkers.excused_writes import (
    destroyed_windows,
    first_saves,
    not_created_yet,
    on_destroyed_job,
)
from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.fault_windows import faults_of
from harness.history.log import History, Operation


def fault_windows(
    history: History,
) -> tuple[dict[str, list[tuple[float, float]]], list[tuple[float, float]]]:
    """When each process was under a fault that may fail its calls, and when every process was.

    Read from the history's fault vocabulary (:mod:`harness.history.fault_windows`): an injected disk
    error or a slow disk on one process, a full disk on all of them, or any new fault whose
    window says its effect may fail store calls.
    """
    per_process: dict[str, list[tuple[float, float]]] = {}
    everyone: list[tuple[float, float]] = []
    for window in faults_of(history).windows_where_calls_may_fail():
        span = (window.start, window.end)
        if window.process is None:
            everyone.append(span)
        else:
            per_process.setdefault(window.process, []).append(span)
    return per_process, everyone


def under_disk_fault(
    op: Operation, windows: dict[str, list[tuple[float, float]]], full: list[tuple[float, float]]
) -> bool:
    """Whether ``op`` overlaps a window of its own process or one of every process."""
    spans = windows.get(op.process, []) + full
    return any(start <= op.end and op.start <= end for start, end in spans)


READ_ROLES = ("reader", "final")
RECOVER_ROLES = ("restart",)
WRITES = ("save", "update")


def death_kind(crash: dict[str, object]) -> str:
    """Which criterion's operation a process died in: ``get``, ``write`` or ``recover``.

    The operation in flight decides; a process that died between operations (or while opening
    the store) is judged by its role: a reader's death is a failed read, a restart's a failed
    recovery, anyone else's a failed write.

    >>> death_kind({"role": "reader", "in_flight": {"f": "get", "job": "j0"}})
    'get'
    >>> death_kind({"role": "worker", "in_flight": None})
    'write'
    """
    in_flight = crash.get("in_flight")
    f = in_flight.get("f") if isinstance(in_flight, dict) else None
    if f == "get" or (f not in WRITES and f != "recover" and crash.get("role") in READ_ROLES):
        return "get"
    if f == "recover" or (f not in WRITES and crash.get("role") in RECOVER_ROLES):
        return "recover"
    return "write"


@dataclass
class _Findings:
    """What went wrong in one history, by kind, gathered for the verdict's counts and words."""

    get_raised: list[Operation] = field(default_factory=list)
    write_raised: list[Operation] = field(default_factory=list)  # with no disk fault injected
    excused: int = 0  # writes that raised under an injected disk fault, as they should
    hung: dict[str, list[Operation]] = field(
        default_factory=lambda: {"get": [], "write": [], "recover": []}
    )
    died: dict[str, list[str]] = field(
        default_factory=lambda: {"get": [], "write": [], "recover": []}
    )
    recover_raised: list[Operation] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


def check_never_raises(history: History) -> CheckResult:
    found = _find(history)
    gets = sum(1 for op in history.operations if op.f == "get")
    writes = sum(1 for op in history.operations if op.f in WRITES)
    counts = _counts(found, gets, writes)
    problems = _problems(found)
    if problems:
        return CheckResult(
            "never_raises", False, "; ".join(problems), counts, **evidence_fields(_evidence(found))
        )
    summary = f"{plural(gets, 'read')}, none raised"
    if found.excused:
        summary += (
            f"; {plural(found.excused, 'write')} raised under injected disk faults, as they should"
        )
    return CheckResult("never_raises", True, summary, counts)


def _find(history: History) -> _Findings:
    """Every call that raised, hung or died, each filed under what it was doing."""
    windows, full = fault_windows(history)
    found = _Findings()
    created, destroyed = first_saves(history), destroyed_windows(history)
    for op in history.operations:
        if op.error and op.error.startswith("timed out"):
            kind = "get" if op.f == "get" else "recover" if op.f == "recover" else "write"
            found.hung[kind].append(op)
            continue
        raised = isinstance(op.result, dict) and op.result.get("raised")
        if op.f == "get" and op.type == "fail":
            found.get_raised.append(op)
        elif op.f in WRITES and raised:
            if not_created_yet(op, created) or on_destroyed_job(op, destroyed):
                found.excused += 1  # a job not made yet, or with no copy left: the contract
            elif under_disk_fault(op, windows, full) and not op.result.get("fatal"):
                found.excused += 1
            else:
                found.write_raised.append(op)
        elif op.f == "recover" and raised:
            found.recover_raised.append(op)
        elif op.f == "open" and op.type == "fail":
            found.other.append(f"the store could not be opened: {op.describe()}")
        elif op.f == "crash" and isinstance(op.value, dict):
            found.died[death_kind(op.value)].append(_describe_death(op))
    return found


def _counts(found: _Findings, gets: int, writes: int) -> dict[str, int]:
    return {
        "gets": gets,
        "writes": writes,
        "get_raised": len(found.get_raised),
        "write_raised_without_fault": len(found.write_raised),
        "write_raised_under_fault": found.excused,
        "get_hung": len(found.hung["get"]),
        "write_hung": len(found.hung["write"]),
        "recover_hung": len(found.hung["recover"]),
        "hung": sum(len(ops) for ops in found.hung.values()),
        "died_in_get": len(found.died["get"]),
        "died_in_write": len(found.died["write"]),
        "died_in_recover": len(found.died["recover"]),
        "recover_raised": len(found.recover_raised),
        "other": len(found.other),
    }


def _evidence(found: _Findings) -> list[str]:
    """The first few of each kind, raised reads first; then the rest, for the timeline's marks."""
    evidence = [op.describe() for op in found.get_raised[:3]]
    evidence += [op.describe() for op in found.write_raised[:3]]
    evidence += [op.describe() for ops in found.hung.values() for op in ops[:2]]
    evidence += [line for lines in found.died.values() for line in lines[:2]]
    evidence += [f"recover() raised: {op.describe()}" for op in found.recover_raised[:2]]
    evidence += found.other[:2]
    rest = [op.describe() for op in found.get_raised[3:] + found.write_raised[3:]]
    rest += [op.describe() for ops in found.hung.values() for op in ops[2:]]
    return evidence + rest


def _problems(found: _Findings) -> list[str]:
    """One phrase per kind of problem found, for the summary."""
    problems = []
    if found.get_raised:
        problems.append(f"get_job raised {plural(len(found.get_raised), 'time')}")
    if found.write_raised:
        problems.append(
            f"a write raised {plural(len(found.write_raised), 'time')} with no disk fault injected"
        )
    for kind, ops in found.hung.items():
        if ops:
            what = {"get": "get_job", "write": "write", "recover": "recover()"}[kind]
            problems.append(f"{plural(len(ops), what + ' call')} hung and timed out")
    for kind, lines in found.died.items():
        if lines:
            what = {"get": "a read", "write": "a write", "recover": "recover()"}[kind]
            problems.append(
                f"{len(lines)} {'process' if len(lines) == 1 else 'processes'} died by itself during {what}"
            )
    if found.recover_raised:
        problems.append(f"recover() raised {plural(len(found.recover_raised), 'time')}")
    problems.extend(found.other[:1])
    return problems


def _describe_death(op: Operation) -> str:
    value = op.value
    in_flight = value.get("in_flight")
    doing = (
        f"in {in_flight.get('f')}({in_flight.get('job') or ''})"
        if isinstance(in_flight, dict)
        else "between store calls"
    )
    return (
        f"{value.get('process')} ({value.get('role', '?')}) died by itself {doing}: "
        f"exit {value.get('exit')} (the store ended its own process)"
    )
