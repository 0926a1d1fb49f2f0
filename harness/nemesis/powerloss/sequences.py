"""Bounded multi-operation workloads under power loss, as CrashMonkey's B3 does.

A bug may need two operations to show: the first leaves something unsynced, the second builds
on it, and a power cut keeps the second's work but not the first's. CrashMonkey (Mohan et al.,
OSDI 2018) found such bugs by testing *every* sequence of a few operations from a small
alphabet. Here the alphabet is four store operations on a fresh store (bystander ``j1`` saved
and synced first)::

    first    the first save of j0 (only while j0 does not exist)
    over     a save over j0 (only once it exists)
    update   update_job(j0, changes) (only once it exists, and if the store has update_job)
    second   a save of a second job, j2 (its first save, or over it)

Every valid sequence of up to ``options.sequences`` operations (21 sequences for 3) runs in its
own store directory, all in one process under ``strace``, with **no sync between operations**,
each between its own markers. The whole sequence is replayed and every crash state after each
call enumerated (``options.max_states`` per sequence, a seeded sample above it). What a state
must hold depends on where the power was cut: for each job, the version of the last operation on
it that had returned by then (none before its first save), or, for the operation in flight,
that version or its own. One ``crash_state`` per job touched is recorded for each state::

    {"f": "crash_state", "job": "j2", "value": {"operation": "sequence first, second, update",
     "point": "first, second, update: after #9 rename(.j2.json.tmp -> j2.json)", ...}}

and judged by :mod:`harness.checkers.crash_consistency` like the states of single operations.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.history.log import OK, HistoryLog
from harness.nemesis.powerloss.check_pool import check_states, materialize
from harness.nemesis.powerloss.crash_states import CrashState, enumerate_crash_states
from harness.nemesis.powerloss.markers import sequence_window
from harness.nemesis.powerloss.operation_trace import Baseline, OperationTrace
from harness.nemesis.powerloss.processes import TraceError, child_command, run_child, run_traced
from harness.nemesis.powerloss.replay import model_trace
from harness.nemesis.powerloss.snapshots import load_snapshot, parse_open_descriptors
from harness.nemesis.powerloss.strace_log import RawCall, TraceModelError, parse_strace
from harness.nemesis.powerloss.traced_calls import store_spellings
from harness.workload.payload import WRITE_TAG_KEY, make_job, write_record

if TYPE_CHECKING:
    from harness.nemesis.powerloss.options import PowerLossOptions

ALPHABET = ("first", "over", "update", "second")
TARGET, BYSTANDER, SECOND = "j0", "j1", "j2"
PREPARE_TIMEOUT = 60.0


def workloads(depth: int, *, update: bool = True) -> list[tuple[str, ...]]:
    """Every valid sequence of 1 to ``depth`` operations, shortest first.

    >>> workloads(2)
    [('first',), ('second',), ('first', 'over'), ('first', 'update'), ('first', 'second'), \
('second', 'first'), ('second', 'second')]
    """
    found: list[tuple[str, ...]] = []
    layer: list[tuple[str, ...]] = [()]
    for _ in range(depth):
        layer = [
            (*sequence, operation)
            for sequence in layer
            for operation in ALPHABET
            if _allowed(sequence, operation, update)
        ]
        found.extend(layer)
    return found


def _allowed(sequence: tuple[str, ...], operation: str, update: bool) -> bool:
    exists = "first" in sequence
    if operation == "first":
        return not exists
    if operation == "update":
        return exists and update
    return operation == "second" or exists


@dataclass
class _Step:
    """One operation of a sequence and the versions it moves its job between."""

    kind: str  # first | over | update | second
    job: str
    before: dict[str, Any] | None  # write_record of the job's version before (None: no job yet)
    after: dict[str, Any]  # write_record of the version it writes
    older: dict[str, Any] | None  # the version before ``before`` (what a backup may hold)
    call: dict[str, Any]  # what the traced process does


@dataclass
class _Sequence:
    name: str
    steps: list[_Step]
    root: Path

    @property
    def label(self) -> str:
        return ", ".join(step.kind for step in self.steps)


def plan(
    depth: int, size: int, rng: random.Random, work: Path, *, update: bool = True
) -> list[_Sequence]:
    """The sequences to run, each with its payloads drawn from ``rng`` in a fixed order."""
    sequences = []
    for number, kinds in enumerate(workloads(depth, update=update)):
        versions: dict[str, list[dict[str, Any]]] = {TARGET: [], SECOND: []}
        current: dict[str, dict[str, Any]] = {}
        steps = []
        for kind in kinds:
            job = SECOND if kind == "second" else TARGET
            if kind == "update":
                change = make_job(job, "sequence", len(versions[job]) + 1, size, rng)
                changes = {WRITE_TAG_KEY: change[WRITE_TAG_KEY], "data": change["data"]}
                value = {**current[job], **changes}
                call = {"kind": "update", "job": job, "changes": changes}
            else:
                value = make_job(job, "sequence", len(versions[job]) + 1, size, rng)
                call = {"kind": "save", "job": job, "job_value": value}
            history = versions[job]
            steps.append(
                _Step(
                    kind,
                    job,
                    history[-1] if history else None,
                    write_record(value),
                    history[-2] if len(history) > 1 else None,
                    call,
                )
            )
            history.append(write_record(value))
            current[job] = value
        sequences.append(_Sequence(f"seq-{number:02d}", steps, work / f"seq-{number:02d}"))
    return sequences


def explore_sequences(
    spec: str,
    work: Path,
    depth: int,
    size: int,
    options: PowerLossOptions,
    rng: random.Random,
    history: HistoryLog,
) -> list[str]:
    """Run, trace, explore and record every sequence (see the module docstring); return notes.

    Raises :class:`~harness.nemesis.powerloss.strace_log.TraceModelError` or
    :class:`~harness.nemesis.powerloss.processes.TraceError` when the model cannot follow the
    store; the caller turns that into an *unknown* verdict.
    """
    bystander = make_job(BYSTANDER, "sequence", 1, size, rng)
    sequences = plan(depth, size, rng, work, update=options.update)
    _prepare(spec, sequences, work, bystander)
    outcomes = _trace(spec, sequences, work, size)
    calls = parse_strace((work / "sequences.strace").read_text(encoding="ascii", errors="replace"))
    checked: list[tuple[_Sequence, CrashState, list[int], int]] = []
    sampled_out = 0
    known: set[str] = set()
    for sequence in sequences:
        outcome = outcomes[sequence.name]
        done = len(outcome["returned"])
        trace = _model(sequence, outcome, calls, work)
        known |= set(trace.base_names) | set(trace.final_names)
        exploration = enumerate_crash_states(
            trace,
            returned=False,  # what is acknowledged depends on the operation: see _expected
            max_states=options.max_states,
            rng=rng,
            page_samples=options.page_samples,
            per_point=True,
        )
        sampled_out += exploration.sampled_out
        returns = _return_points(trace, list(trace.returns), outcome["returned"])
        checked.extend((sequence, state, returns, done) for state in exploration.states)
    directories = materialize([state for _, state, _, _ in checked], work / "states", "seq")
    results = check_states(directories, spec, TARGET, [BYSTANDER, SECOND], options, sorted(known))
    untouched = {BYSTANDER: write_record(bystander)}
    for (sequence, state, returns, done), result in zip(checked, results, strict=True):
        _record(history, sequence, state, returns, done, result, untouched)
    shutil.rmtree(work / "states", ignore_errors=True)
    note = (
        f"power loss, every sequence of up to {depth} operations ({len(sequences)} sequences of "
        f"{', '.join(ALPHABET)}): {len(checked)} crash states checked"
    )
    if sampled_out:
        note += f", {sampled_out} more sampled out (options.max_states = {options.max_states})"
    return [note]


def _prepare(spec: str, sequences: list[_Sequence], work: Path, bystander: dict[str, Any]) -> None:
    """Give each sequence a fresh store holding the bystander, made durable (``sync()``)."""
    for sequence in sequences:
        (sequence.root / "store").mkdir(parents=True)
    instructions = work / "prepare-sequences.json"
    instructions.write_text(
        json.dumps(
            {
                "spec": spec,
                "roots": [os.fspath(s.root / "store") for s in sequences],
                "jobs": [[BYSTANDER, bystander]],
            }
        )
    )
    problem = run_child(
        child_command("prepare_main", instructions), PREPARE_TIMEOUT, work / "prepare.log"
    )
    if problem:
        raise TraceError(f"preparing the sequences failed: {problem}")


def _model(
    sequence: _Sequence, outcome: dict[str, Any], calls: list[RawCall], work: Path
) -> OperationTrace:
    """Replay one sequence's window over its snapshot; it must end with the files on disk."""
    window, ends = sequence_window(calls, work, sequence.name, len(outcome["returned"]))
    baseline = load_snapshot(work / f"{sequence.name}-before")
    baseline.open_files = parse_open_descriptors(outcome["open_files"])
    root = sequence.root / "store"
    trace = model_trace(window, store_spellings(root), baseline, cwd=os.getcwd(), returns_at=ends)
    _check_replay(trace.final_files(), load_snapshot(work / f"{sequence.name}-after"), sequence)
    (work / f"{sequence.name}.calls.txt").write_text(trace.listing(), encoding="utf-8")
    return trace


def _trace(spec: str, sequences: list[_Sequence], work: Path, size: int) -> dict[str, Any]:
    instructions = work / "trace-sequences.json"
    report = work / "trace-sequences-report.json"
    instructions.write_text(
        json.dumps(
            {
                "spec": spec,
                "work": os.fspath(work),
                "report": os.fspath(report),
                "sequences": [
                    {
                        "name": s.name,
                        "root": os.fspath(s.root / "store"),
                        "operations": [step.call for step in s.steps],
                    }
                    for s in sequences
                ],
            }
        )
    )
    log_path = work / "sequences.strace"
    problem = run_traced("trace_sequences_main", instructions, log_path, work, size)
    if problem:
        raise TraceError(f"tracing the sequences failed: {problem}")
    outcomes: dict[str, Any] = json.loads(report.read_text())
    return outcomes


def _check_replay(modeled: dict[str, bytes], after: Baseline, sequence: _Sequence) -> None:
    """The replay must end where the disk did, or the model missed a write."""
    if modeled != after.files:
        differing = sorted(set(modeled) ^ set(after.files)) or sorted(
            name for name in modeled if modeled[name] != after.files.get(name)
        )
        raise TraceModelError(
            f"sequence {sequence.label}: replaying the trace does not give the files the store "
            f"left ({', '.join(differing[:3])}): a call the model does not follow"
        )


def _return_points(trace: OperationTrace, ends: list[int], returned: list[bool]) -> list[int]:
    """For each operation, the crash point from which it counts as returned (a huge one: never).

    As for one operation, the states possible at the moment it returned are those after its last
    call that changed the disk.
    """
    changing = [0] + [index + 1 for index, call in enumerate(trace.calls) if call.events]
    points = []
    for end, did_return in zip(ends, returned, strict=False):
        points.append(max(p for p in changing if p <= end) if did_return else 1 << 30)
    return points


def _expected(
    sequence: _Sequence, job: str, point: int, returns: list[int], done: int
) -> tuple[_Step | None, bool]:
    """What ``job`` must hold after a cut at ``point``: the operation that decides, and whether
    it had returned (its version only) or was in flight (its version or the one before).
    None: no operation on the job had started, it must not exist."""
    acknowledged: _Step | None = None
    for index, step in enumerate(sequence.steps[:done]):
        if returns[index] <= point:
            if step.job == job:
                acknowledged = step
            continue
        if step.job == job:  # the first operation not returned by then is in flight
            return step, False
        break
    return acknowledged, acknowledged is not None


def _record(
    history: HistoryLog,
    sequence: _Sequence,
    state: CrashState,
    returns: list[int],
    done: int,
    result: dict[str, Any],
    untouched: dict[str, dict[str, Any]],
) -> None:
    jobs = sorted({step.job for step in sequence.steps[:done]})
    for job in jobs:
        step, acknowledged = _expected(sequence, job, state.point, returns, done)
        if step is None:
            old = new = older = None
        else:  # acknowledged: the new version only; in flight: the old or the new one
            old, new, older = step.before, step.after, step.older
        primary = job == jobs[0]  # the bystander, recover(), litter and backup: judged once
        read = result["read"] if job == TARGET else result.get("untouched", {}).get(job, {})
        token = history.invoke(
            "crash_state",
            job,
            {
                "operation": f"sequence {sequence.label}",
                "point": f"{sequence.label}: {state.point_label}",
                "acknowledged": acknowledged,
                "state": state.description,
                "old": old,
                "new": new,
                "older": older,
                "untouched": untouched if primary else {},
            },
        )
        history.complete(
            token,
            OK,
            {
                "read": read,
                "recover_raised": result.get("recover_raised") if primary else None,
                "untouched": {
                    other: value
                    for other, value in result.get("untouched", {}).items()
                    if other in untouched and primary
                },
                "litter": result.get("litter") if primary else None,
                "backup": result.get("backup") if job == TARGET else None,
            },
        )
