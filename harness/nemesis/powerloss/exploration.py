"""Power loss: trace one write, build every state a power cut may leave, open the store on each.

A kill is not a power cut. After ``kill -9`` the page cache survives and the kernel still writes
everything the process wrote; after a power cut only what was made durable is there, and the
rest may be there in part. So this nemesis does not cut anything: like ALICE (Pillai et al.,
OSDI 2014) and CrashMonkey (Mohan et al., OSDI 2018) it records the system calls of one store
operation and *computes* the states a power cut could leave (see
:mod:`harness.nemesis.powerloss.crash_states` for the persistence model), then asks the store to make
sense of each one.

Phases of :func:`explore_power_loss`:

1. **prepare**: a fresh process opens the store and saves versions 0 and 1 of the target job
   (so version 1 has a backup) and version 1 of one or more bystander jobs, then ``sync()``: this
   is the durable baseline.
2. **trace**: a process started under ``strace -f -y -xx --seccomp-bpf`` opens the store and, for
   each operation (one ``save_job``, then ``update_job`` when the store has it): syncs,
   snapshots the store directory and its open descriptors, opens a *begin* marker (a path that
   does not exist), makes the call, opens an *end* marker **from the calling thread, right after
   the call returned** (the acknowledgement), snapshots again and opens a *settled* marker. The
   operation is every call between begin and end (any thread), then the calls of *other*
   threads between end and settled: those come after the acknowledgement.
3. **model**: the calls are replayed into the abstract file system; the replay must end with
   exactly the files the process saw on disk (else the model missed something). Every crash
   state is enumerated, deduplicated and capped (``options.max_states``), out-of-order pages
   sampled (``options.page_samples``); every state from the acknowledgement on is acknowledged.
4. **check**: each state is written into a fresh directory; a checking process opens the store
   there, calls ``recover()`` if the store has one, reads the target job and the bystanders,
   lists the files left that the store never had (litter), then damages the job file and reads
   again (what the backup gives). Checking processes take many states each; one that hangs
   (``options.state_timeout``) or dies is replaced, and only its current state is charged.
5. **second cut**: on a few states per operation (``options.recover_cuts``, seeded, among those
   that leave recovery work) ``recover()`` runs traced, in one process for all of them, and the
   states a power cut *during* it may leave are checked as in phase 4.
6. **record**: one ``crash_state`` operation per state goes into the history::

       {"f": "crash_state", "job": "j0", "value": {"operation": "save",
        "point": "after #11 rename(j0.json.tmp -> j0.json) (save_job returned: acknowledged)",
        "acknowledged": true,
        "state": "./: persisted create(j0.json.tmp), lost rename(j0.json.tmp -> j0.json)",
        "old": {"tag": [...], "digest": "..."}, "new": {...}, "older": {...},
        "untouched": {"j1": {...}}}}
       {"type": "ok", "value": {"read": {"kind": "job", "tag": [...]}, "recover_raised": null,
        "untouched": {"j1": {...}}, "litter": [], "backup": {"kind": "job", ...}}}

   :mod:`harness.checkers.crash_consistency` judges them (``crash_consistency``: C6, ``crash_backup``: C7,
   ``crash_litter``: C8). The numbered calls of each operation are kept in
   ``<run>/powerloss/<operation>.calls.txt`` and the raw trace in ``trace.strace``.

**Unknown, never a guess.** A call the model cannot follow (a shared writable ``mmap``,
``O_TMPFILE``, ``RENAME_EXCHANGE``, a ``symlink``; see :mod:`harness.nemesis.powerloss.replay`), a replay
that does not end with the files on disk, or a traced process that fails records an event
``f="unknown"`` with ``{"reason": <the call, named>}``: the scenario's verdict is unknown. No state
of that operation is recorded, and the exploration goes on with the next one.

**The same seed gives the same states**: the payloads and every sample are drawn from one
``random.Random`` seeded with the run's seed, in a fixed order (a store whose file names are
random still traces different names).

Options (``[options]`` of the scenario): ``max_states`` (400 per operation), ``state_timeout``
(20 s), ``workers`` (checking processes, 2), ``update`` (also trace ``update_job``, true),
``keep_states`` (keep the materialized directories, false), ``page_samples`` (out-of-order page
variants per file and crash point, 8; 0: in order only), ``recover_cuts`` (states per operation
to cut again during ``recover()``, 2; 0: none).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.history import INFO, OK, HistoryLog
from harness.nemesis.powerloss.check_pool import check_states, materialize
from harness.nemesis.powerloss.crash_states import CrashState, enumerate_crash_states
from harness.nemesis.powerloss.markers import operation_window
from harness.nemesis.powerloss.operation_trace import Baseline, OpenFile, OperationTrace
from harness.nemesis.powerloss.options import PowerLossOptions
from harness.nemesis.powerloss.processes import TraceError, child_command, run_child, run_traced
from harness.nemesis.powerloss.replay import model_trace
from harness.nemesis.powerloss.sequences import explore_sequences
from harness.nemesis.powerloss.snapshots import load_snapshot
from harness.nemesis.powerloss.strace_log import RawCall, TraceModelError, parse_strace
from harness.payload import WRITE_TAG_KEY, make_job, write_record
from harness.scenario import Scenario

PREPARE_TIMEOUT = 60.0  # seconds: one process opens the store and saves a few jobs
WRITER = "powerloss"  # the writer name in the tags of the jobs written here


class PowerLossError(HarnessError):
    """The exploration itself failed (not the store); the message says why and what to do."""


@dataclass
class _Operation:
    """One traced store call and the versions it moves between."""

    name: str  # save | update
    job: str
    old: dict[str, Any]  # write_record of the version before
    new: dict[str, Any]  # write_record of the version it writes
    call: dict[str, Any]  # what the traced process does: {"save": job} or {"update": changes}
    older: dict[str, Any] | None = None  # the version before ``old``: what its backup may hold
    returned: bool = False
    error: str | None = None
    open_files: dict[int, OpenFile] = field(default_factory=dict)


def explore_power_loss(
    scenario: Scenario,
    spec: str,
    root: Path,
    run_dir: Path,
    seed: int,
    histories: Path,
    epoch: float,
) -> list[str]:
    """Explore the power-loss states of a save (and an update) of one job; return report notes.

    ``root`` is the store directory the runner's setup process already opened. The ``crash_state``
    operations go to ``histories/powerloss.jsonl``; see the module docstring for the phases.
    """
    options = PowerLossOptions.from_scenario(dict(scenario.options), scenario.path)
    work = run_dir / "powerloss"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    root = root.absolute()
    rng = random.Random(f"{seed}/{scenario.name}/powerloss")
    size = scenario.workload.payload_bytes
    jobs = [f"j{k}" for k in range(max(scenario.workload.jobs, 1))]
    target, bystanders = jobs[0], jobs[1:4]
    zeroth = make_job(target, WRITER, 0, size, rng)  # so that version 1 has a backup to fall to
    first = {job: make_job(job, WRITER, 1, size, rng) for job in [target, *bystanders]}
    second = make_job(target, WRITER, 2, size, rng)
    third = make_job(target, WRITER, 3, size, rng)
    changes = {WRITE_TAG_KEY: third[WRITE_TAG_KEY], "data": third["data"]}
    operations = [
        _Operation(
            "save",
            target,
            write_record(first[target]),
            write_record(second),
            {"save": second},
            older=write_record(zeroth),
        )
    ]
    if options.update:
        merged = {**second, **changes}
        operations.append(
            _Operation(
                "update",
                target,
                write_record(second),
                write_record(merged),
                {"update": changes},
                older=write_record(first[target]),
            )
        )
    untouched = {job: write_record(first[job]) for job in bystanders}

    started = time.monotonic()
    history = HistoryLog(histories / "powerloss.jsonl", "powerloss", epoch)
    if options.sequences:
        return _explore_sequences(spec, work, size, options, rng, history, started)
    problem = _prepare(spec, root, work, [(target, zeroth), *first.items()])
    if problem:
        reason = f"power loss: not explored: preparing the store failed: {problem}"
        return [_unknown(history, reason, close=True)]
    log_path = work / "trace.strace"
    problem = _trace(spec, root, work, log_path, operations, size)
    if problem:
        reason = f"power loss: not explored: the traced operation failed: {problem}"
        return [_unknown(history, reason, close=True)]
    calls = parse_strace(log_path.read_text(encoding="ascii", errors="replace"))
    notes: list[str] = []
    cuts: list[_Cut] = []
    try:
        for operation in operations:
            if not (work / f"{operation.name}-before").is_dir():
                notes.append(
                    f"power loss: {operation.name}_job was not traced "
                    "(the store has none, or the save before it failed)"
                )
                continue
            try:
                notes.extend(
                    _explore(
                        operation, calls, spec, root, work, untouched, options, rng, history, cuts
                    )
                )
            except (TraceModelError, TraceError, PowerLossError) as error:
                # The model cannot follow this operation: judging its states would be a guess.
                # The scenario becomes unknown; the next operation is explored on its own.
                notes.append(_unknown(history, f"power loss, {operation.name}_job: {error}"))
        if cuts:
            try:
                notes.append(_cut_recoveries(cuts, spec, work, untouched, options, rng, history))
            except (TraceModelError, TraceError, PowerLossError) as error:
                notes.append(_unknown(history, f"power loss, a cut during recover(): {error}"))
    finally:
        history.close()
        if not options.keep_states:
            shutil.rmtree(work / "states", ignore_errors=True)
        for snapshot in work.glob("*-before"):
            shutil.rmtree(snapshot, ignore_errors=True)
        for snapshot in work.glob("*-after"):
            shutil.rmtree(snapshot, ignore_errors=True)
    notes.append(f"power loss: exploration took {time.monotonic() - started:.1f} s")
    return notes


def _explore_sequences(
    spec: str,
    work: Path,
    size: int,
    options: PowerLossOptions,
    rng: random.Random,
    history: HistoryLog,
    started: float,
) -> list[str]:
    """Every sequence of up to ``options.sequences`` operations (:mod:`.sequences`)."""
    try:
        notes = explore_sequences(spec, work, options.sequences, size, options, rng, history)
    except (TraceModelError, TraceError) as error:
        notes = [_unknown(history, f"power loss, sequences: {error}")]
    finally:
        history.close()
        for snapshot in [*work.glob("*-before"), *work.glob("*-after"), *work.glob("seq-*")]:
            shutil.rmtree(snapshot, ignore_errors=True)
    notes.append(f"power loss: exploration took {time.monotonic() - started:.1f} s")
    return notes


def _explore(
    operation: _Operation,
    calls: list[RawCall],
    spec: str,
    root: Path,
    work: Path,
    untouched: dict[str, dict[str, Any]],
    options: PowerLossOptions,
    rng: random.Random,
    history: HistoryLog,
    cuts: list[_Cut],
) -> list[str]:
    """Model, check and record one traced operation; add the states to cut recover() on."""
    name = operation.name
    window, returned_at = operation_window(calls, work, name)
    baseline = load_snapshot(work / f"{name}-before")
    baseline.open_files = operation.open_files
    roots = {os.fspath(root), os.path.realpath(root)}
    try:
        trace = model_trace(window, roots, baseline, cwd=os.getcwd(), returned_at=returned_at)
    except TraceModelError as error:
        raise TraceModelError(f"{error} (trace: {work / 'trace.strace'})") from None
    _verify_replay(trace, load_snapshot(work / f"{name}-after"), name)
    listing = work / f"{name}.calls.txt"
    listing.write_text(trace.listing(), encoding="utf-8")
    if not trace.changing_calls:
        return [
            f"power loss, {name}_job({operation.job}): no file under the store directory changed, "
            "so a power cut cannot undo anything here (the data lives elsewhere, e.g. a server)"
        ]
    exploration = enumerate_crash_states(
        trace,
        returned=operation.returned,
        max_states=options.max_states,
        rng=rng,
        page_samples=options.page_samples,
    )
    directories = materialize(exploration.states, work / "states", name)
    known = sorted(set(trace.base_names) | set(trace.final_names))
    results = check_states(directories, spec, operation.job, list(untouched), options, known)
    history.event(
        "powerloss_trace",
        operation.job,
        {
            "operation": name,
            "store_calls": len(trace.calls),
            "changing_calls": len(trace.changing_calls),
            "points": exploration.points,
            "combinations": exploration.combinations,
            "states": len(exploration.states),
            "sampled_out": exploration.sampled_out,
            "returned": operation.returned,
            "error": operation.error,
        },
        kind=OK,
    )
    for state, result in zip(exploration.states, results, strict=True):
        _record(history, operation, state, result, untouched)
    final = set(trace.final_files())
    # States that leave recovery work (a name the finished operation did not have, or lacks).
    candidates = [state for state in exploration.states if set(state.files) != final]
    for state in rng.sample(candidates, min(options.recover_cuts, len(candidates))):
        cuts.append(_Cut(operation, state, known))
    note = (
        f"power loss, {name}_job({operation.job}): {len(trace.calls)} store system calls traced "
        f"({len(trace.changing_calls)} change the disk), {exploration.points} crash points, "
        f"{len(exploration.states)} distinct crash states checked"
    )
    if exploration.sampled_out:
        note += (
            f", {exploration.sampled_out} more sampled out "
            f"(options.max_states = {options.max_states})"
        )
    note += f"; calls numbered in {listing.relative_to(work.parent)}"
    notes = [note]
    if not operation.returned:
        notes.append(
            f"power loss, {name}_job({operation.job}) raised in the traced process "
            f"({operation.error}): no state counts as acknowledged"
        )
    return notes


@dataclass
class _Cut:
    """A crash state to cut power in again, while ``recover()`` repairs it."""

    operation: _Operation
    state: CrashState
    known: list[str]


def _cut_recoveries(
    cuts: list[_Cut],
    spec: str,
    work: Path,
    untouched: dict[str, dict[str, Any]],
    options: PowerLossOptions,
    rng: random.Random,
    history: HistoryLog,
) -> str:
    """A second power cut, during ``recover()``: trace it on a few states, check its states.

    Each cut state (``options.recover_cuts`` per operation, seeded, among the states that leave
    recovery work) is copied, and ``recover()`` runs on each copy in one traced process. Every
    state a power cut may leave during it is checked like a first-level state (restart,
    recover, read) and must hold what the first state was allowed to hold.
    """
    folder = work / "cuts"
    roots = materialize([cut.state for cut in cuts], folder, "store")
    log_path = folder / "trace.strace"
    problem = _trace_recoveries(spec, roots, folder, log_path)
    if problem:
        raise PowerLossError(f"tracing recover() on crash states failed: {problem}")
    outcomes = json.loads((folder / "trace-report.json").read_text())
    calls = parse_strace(log_path.read_text(encoding="ascii", errors="replace"))
    explored: list[tuple[_Cut, CrashState]] = []
    for number, (cut, root) in enumerate(zip(cuts, roots, strict=True)):
        name = f"recover-{number}"
        if name not in outcomes:
            return "power loss: no second cut during recover(): the store has no recover()"
        window, returned_at = operation_window(calls, folder, name)
        baseline = load_snapshot(folder / f"{name}-before")
        baseline.open_files = {
            int(fd): OpenFile(**info) for fd, info in outcomes[name]["open_files"].items()
        }
        places = {os.fspath(root), os.path.realpath(root)}
        trace = model_trace(window, places, baseline, cwd=os.getcwd(), returned_at=returned_at)
        _verify_replay(trace, load_snapshot(folder / f"{name}-after"), "recover")
        (folder / f"{name}.calls.txt").write_text(trace.listing(), encoding="utf-8")
        if trace.changing_calls:
            exploration = enumerate_crash_states(
                trace,
                returned=False,  # recover() promises no version of its own
                max_states=options.max_states,
                rng=rng,
                page_samples=options.page_samples,
            )
            explored.extend((cut, second) for second in exploration.states)
    known = sorted({name for cut in cuts for name in cut.known})
    directories = materialize([second for _, second in explored], folder / "states", "cut")
    job = cuts[0].operation.job
    results = check_states(directories, spec, job, list(untouched), options, known)
    for (cut, second), result in zip(explored, results, strict=True):
        first = f"{cut.state.point_label} [{cut.state.description}]"
        _record(
            history,
            cut.operation,
            second,
            result,
            untouched,
            point=f"{second.point_label} of recover(), after a first cut {first}",
            acknowledged=cut.state.acknowledged,
        )
    if not options.keep_states:
        shutil.rmtree(folder, ignore_errors=True)
    return (
        f"power loss: a second power cut during recover() on {len(cuts)} crash states: "
        f"{len(explored)} more states checked"
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


def _unknown(history: HistoryLog, reason: str, *, close: bool = False) -> str:
    """Record that the harness could not follow the store here (the scenario is unknown)."""
    history.event("unknown", None, {"reason": reason}, kind=INFO)
    if close:
        history.close()
    return reason


def _record(
    history: HistoryLog,
    operation: _Operation,
    state: CrashState,
    result: dict[str, Any],
    untouched: dict[str, dict[str, Any]],
    *,
    point: str | None = None,
    acknowledged: bool | None = None,
) -> None:
    acknowledged = state.acknowledged if acknowledged is None else acknowledged
    if point is None:
        point = state.point_label
        if acknowledged:
            point += f" ({operation.name}_job returned: acknowledged)"
    token = history.invoke(
        "crash_state",
        operation.job,
        {
            "operation": operation.name,
            "point": point,
            "acknowledged": acknowledged,
            "state": state.description,
            "old": operation.old,
            "new": operation.new,
            "older": operation.older,
            "untouched": untouched,
        },
    )
    history.complete(
        token,
        OK,
        {
            "read": result["read"],
            "recover_raised": result.get("recover_raised"),
            "untouched": result.get("untouched", {}),
            "litter": result.get("litter"),
            "backup": result.get("backup"),
        },
    )


# ---------------------------------------------------------------- prepare and trace


def _prepare(
    spec: str, root: Path, work: Path, jobs: list[tuple[str, dict[str, Any]]]
) -> str | None:
    instructions = work / "prepare.json"
    instructions.write_text(json.dumps({"spec": spec, "root": os.fspath(root), "jobs": jobs}))
    command = child_command("prepare_main", instructions)
    return run_child(command, PREPARE_TIMEOUT, work / "prepare.log")


def _trace(
    spec: str, root: Path, work: Path, log_path: Path, operations: list[_Operation], size: int
) -> str | None:
    """Run the operations under strace; fill in how each ended and its open descriptors."""
    instructions = work / "trace.json"
    report = work / "trace-report.json"
    instructions.write_text(
        json.dumps(
            {
                "spec": spec,
                "root": os.fspath(root),
                "work": os.fspath(work),
                "report": os.fspath(report),
                "operations": [{"name": op.name, "job": op.job, **op.call} for op in operations],
            }
        )
    )
    problem = run_traced("trace_main", instructions, log_path, work, size)
    if problem:
        return problem
    try:
        outcomes = json.loads(report.read_text())
    except (OSError, ValueError):
        return f"the traced process wrote no report; see {work / 'trace.log'}"
    for operation in operations:
        outcome = outcomes.get(operation.name)
        if outcome is None:
            continue
        operation.returned = outcome["returned"]
        operation.error = outcome["error"]
        operation.open_files = {
            int(fd): OpenFile(**info) for fd, info in outcome["open_files"].items()
        }
    return None


def _verify_replay(trace: OperationTrace, after: Baseline, name: str) -> None:
    """The replay must end where the disk did, or the model missed a write: say which file."""
    modeled = trace.final_files()
    problems = []
    for path in sorted(set(modeled) | set(after.files)):
        if path not in after.files:
            problems.append(f"{path}: modeled but not on disk")
        elif path not in modeled:
            problems.append(f"{path}: on disk but not modeled")
        elif modeled[path] != after.files[path]:
            problems.append(
                f"{path}: modeled {len(modeled[path])} B differ from "
                f"the {len(after.files[path])} B on disk"
            )
    if problems:
        raise PowerLossError(
            f"power loss, {name}_job: replaying the trace does not give the files the store left "
            f"({'; '.join(problems[:3])}): the store changed files in a way the model does not "
            "follow (writes through mmap, another process, an untraced system call), so the "
            "exploration would not be sound"
        )
