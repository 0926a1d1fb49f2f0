"""Never raises: ``get_job`` never raised; ``save_job`` and ``update_job`` raised only under an
injected disk fault; no store call hung; no process died by itself.

``get_job`` raising is what became HTTP 500 in the seed's incident. A write that raises while
the harness is failing its system calls (or the disk is full) is the *right* behaviour: a write
that could not be made durable must not be acknowledged.
"""

from __future__ import annotations

from harness.checkers import CheckResult, first_evidence, plural
from harness.history import History, Operation


def fault_windows(
    history: History,
) -> tuple[dict[str, list[tuple[float, float]]], list[tuple[float, float]]]:
    """When each process was under an injected disk fault, and when the disk was full."""
    per_process: dict[str, list[tuple[float, float]]] = {}
    open_faults: dict[str, float] = {}
    full: list[tuple[float, float]] = []
    full_since: float | None = None
    for op in history.operations:
        value = op.value if isinstance(op.value, dict) else {}
        if op.f in ("diskfault", "slowdisk"):
            open_faults[value.get("process", "")] = op.start
        elif op.f in ("diskfault-end", "slowdisk-end"):
            process = value.get("process", "")
            if process in open_faults:
                per_process.setdefault(process, []).append((open_faults.pop(process), op.end))
        elif op.f == "diskfull":
            full_since = op.start
        elif op.f == "diskfull-end" and full_since is not None:
            full.append((full_since, op.end))
            full_since = None
    end = history.records[-1].time if history.records else 0.0
    for process, since in open_faults.items():
        per_process.setdefault(process, []).append((since, end))
    if full_since is not None:
        full.append((full_since, end))
    return per_process, full


def under_disk_fault(
    op: Operation, windows: dict[str, list[tuple[float, float]]], full: list[tuple[float, float]]
) -> bool:
    spans = windows.get(op.process, []) + full
    return any(start <= op.end and op.start <= end for start, end in spans)


def check_never_raises(history: History) -> CheckResult:
    windows, full = fault_windows(history)
    get_raised: list[Operation] = []
    write_raised: list[Operation] = []
    excused = 0
    hung: list[Operation] = []
    other: list[str] = []
    for op in history.operations:
        if op.error and op.error.startswith("timed out"):
            hung.append(op)
            continue
        raised = isinstance(op.result, dict) and op.result.get("raised")
        if op.f == "get" and op.type == "fail":
            get_raised.append(op)
        elif op.f in ("save", "update") and raised:
            if under_disk_fault(op, windows, full):
                excused += 1
            else:
                write_raised.append(op)
        elif op.f == "recover" and raised:
            other.append(f"recover() raised: {op.describe()}")
        elif op.f == "open" and op.type == "fail":
            other.append(f"the store could not be opened: {op.describe()}")
        elif op.f == "crash":
            other.append(
                f"{op.value.get('process')} died by itself (exit {op.value.get('exit')}): "
                "the store crashed its own process"
            )
    counts = {
        "get_raised": len(get_raised),
        "write_raised_without_fault": len(write_raised),
        "write_raised_under_fault": excused,
        "hung": len(hung),
        "other": len(other),
    }
    evidence = [op.describe() for op in get_raised[:3]] + [op.describe() for op in write_raised[:3]]
    evidence += [op.describe() for op in hung[:2]] + other[:2]
    problems = []
    if get_raised:
        problems.append(f"get_job raised {plural(len(get_raised), 'time')}")
    if write_raised:
        problems.append(
            f"a write raised {plural(len(write_raised), 'time')} with no disk fault injected"
        )
    if hung:
        problems.append(f"{plural(len(hung), 'call')} hung and timed out")
    problems.extend(other[:1])
    if problems:
        return CheckResult(
            "never_raises", False, "; ".join(problems), counts, first_evidence(evidence)
        )
    reads = sum(1 for op in history.operations if op.f == "get")
    summary = f"{plural(reads, 'read')}, none raised"
    if excused:
        summary += f"; {plural(excused, 'write')} raised under injected disk faults, as they should"
    return CheckResult("never_raises", True, summary, counts)
