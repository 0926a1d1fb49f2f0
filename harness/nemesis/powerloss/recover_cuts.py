"""A second power cut, during ``recover()``: the repair must survive a cut of its own.

A store may come through every state of one cut and still lose data when the power fails again
while ``recover()`` repairs the state the first cut left (a repair that rewrites a job file in
place, say). For each traced operation, a few of its crash states (``options.recover_cuts``,
seeded, among those that leave recovery work: a name the finished operation did not have, or
lacks) are chosen by :func:`choose_cuts`. :func:`cut_recoveries` then copies each one, runs
``recover()`` on every copy in one process under strace, models each ``recover()`` like a traced
operation, and checks every state a power cut during it may leave (restart, ``recover()``,
read). Each must hold what the first state was allowed to hold; its ``crash_state`` record says
both points::

    "point": "after #3 rename(...) of recover(), after a first cut after #7 rename(...) [...]"
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.history.log import HistoryLog
from harness.nemesis.powerloss.check_pool import check_states, materialize
from harness.nemesis.powerloss.crash_states import CrashState, enumerate_crash_states
from harness.nemesis.powerloss.operation_trace import OperationTrace
from harness.nemesis.powerloss.operations import TracedOperation, record_crash_state
from harness.nemesis.powerloss.options import PowerLossOptions
from harness.nemesis.powerloss.processes import run_traced
from harness.nemesis.powerloss.snapshots import parse_open_descriptors
from harness.nemesis.powerloss.strace_log import parse_strace
from harness.nemesis.powerloss.traced_calls import PowerLossError, model_traced_call


@dataclass
class RecoverCut:
    """A crash state to cut power in again, while ``recover()`` repairs it."""

    operation: TracedOperation
    state: CrashState
    known: list[str]  # the names the store had before and after the operation


def choose_cuts(
    operation: TracedOperation,
    trace: OperationTrace,
    states: list[CrashState],
    known: list[str],
    count: int,
    rng: random.Random,
) -> list[RecoverCut]:
    """``count`` states (seeded) that leave recovery work: their files differ from the end's."""
    final = set(trace.final_files())
    candidates = [state for state in states if set(state.files) != final]
    return [
        RecoverCut(operation, state, known)
        for state in rng.sample(candidates, min(count, len(candidates)))
    ]


def cut_recoveries(
    cuts: list[RecoverCut],
    spec: str,
    work: Path,
    untouched: dict[str, dict[str, Any]],
    options: PowerLossOptions,
    rng: random.Random,
    history: HistoryLog,
) -> str:
    """Trace ``recover()`` on each cut state, check the states a cut during it leaves; a note."""
    folder = work / "cuts"
    roots = materialize([cut.state for cut in cuts], folder, "store")
    log_path = folder / "trace.strace"
    problem = _trace_recoveries(spec, roots, folder, log_path)
    if problem:
        raise PowerLossError(f"tracing recover() on crash states failed: {problem}")
    outcomes = json.loads((folder / "trace-report.json").read_text())
    calls = parse_strace(log_path.read_text(encoding="ascii", errors="replace"))
    explored: list[tuple[RecoverCut, CrashState]] = []
    for number, (cut, root) in enumerate(zip(cuts, roots, strict=True)):
        name = f"recover-{number}"
        if name not in outcomes:
            return "power loss: no second cut during recover(): the store has no recover()"
        open_files = parse_open_descriptors(outcomes[name]["open_files"])
        trace, _ = model_traced_call(calls, folder, name, root, open_files, "recover")
        if trace.changing_calls:
            exploration = enumerate_crash_states(
                trace,
                returned=False,  # recover() promises no version of its own
                max_states=options.max_states,
                rng=rng,
                page_samples=options.page_samples,
            )
            explored.extend((cut, second) for second in exploration.states)
    _check_and_record(explored, cuts, spec, folder, untouched, options, history)
    if not options.keep_states:
        shutil.rmtree(folder, ignore_errors=True)
    return (
        f"power loss: a second power cut during recover() on {len(cuts)} crash states: "
        f"{len(explored)} more states checked"
    )


def _check_and_record(
    explored: list[tuple[RecoverCut, CrashState]],
    cuts: list[RecoverCut],
    spec: str,
    folder: Path,
    untouched: dict[str, dict[str, Any]],
    options: PowerLossOptions,
    history: HistoryLog,
) -> None:
    """Check every state of the second cuts; record each against its first cut's promise."""
    known = sorted({name for cut in cuts for name in cut.known})
    directories = materialize([second for _, second in explored], folder / "states", "cut")
    job = cuts[0].operation.job
    results = check_states(directories, spec, job, list(untouched), options, known)
    for (cut, second), result in zip(explored, results, strict=True):
        first = f"{cut.state.point_label} [{cut.state.description}]"
        record_crash_state(
            history,
            cut.operation,
            second,
            result,
            untouched,
            point=f"{second.point_label} of recover(), after a first cut {first}",
            acknowledged=cut.state.acknowledged,
        )


def _trace_recoveries(spec: str, roots: list[Path], folder: Path, log_path: Path) -> str | None:
    """Run ``recover()`` on each of ``roots`` in one process under strace."""
    instructions = folder / "trace.json"
    instructions.write_text(
        json.dumps(
            {
                "spec": spec,
                "roots": [os.fspath(root) for root in roots],
                "work": os.fspath(folder),
                "report": os.fspath(folder / "trace-report.json"),
            }
        )
    )
    return run_traced("trace_recover_main", instructions, log_path, folder, 0)
