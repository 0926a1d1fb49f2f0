"""Power loss: trace one write, build every state a power cut may leave, open the store on each.

A kill is not a power cut. After ``kill -9`` the page cache survives and the kernel still writes
everything the process wrote; after a power cut only what was made durable is there, and the
rest may be there in part. So this nemesis does not cut anything: like ALICE (Pillai et al.,
OSDI 2014) and CrashMonkey (Mohan et al., OSDI 2018) it records the system calls of one store
operation and *computes* the states a power cut could leave (see
:mod:`~harness.nemesis.powerloss.crash_states` for the persistence model), then asks the store to
make sense of each one.

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
   threads between end and settled: those come after the acknowledgement
   (:mod:`~harness.nemesis.powerloss.children`, :mod:`~harness.nemesis.powerloss.markers`).
3. **model**: the calls are replayed into the abstract file system; the replay must end with
   exactly the files the process saw on disk (else the model missed something). Every crash
   state is enumerated, deduplicated and capped (``options.max_states``), out-of-order pages
   sampled (``options.page_samples``); every state from the acknowledgement on is acknowledged
   (:mod:`~harness.nemesis.powerloss.traced_calls`).
4. **check**: each state is written into a fresh directory; a checking process opens the store
   there, calls ``recover()`` if the store has one, reads the target job and the bystanders,
   lists the files left that the store never had (litter), then damages the job file and reads
   again (what the backup gives). Checking processes take many states each; one that hangs
   (``options.state_timeout``) or dies is replaced, and only its current state is charged
   (:mod:`~harness.nemesis.powerloss.check_pool`, :mod:`~harness.nemesis.powerloss.state_checks`).
5. **second cut**: on a few states per operation (``options.recover_cuts``, seeded, among those
   that leave recovery work) ``recover()`` runs traced, in one process for all of them, and the
   states a power cut *during* it may leave are checked as in phase 4
   (:mod:`~harness.nemesis.powerloss.recover_cuts`).
6. **record**: one ``crash_state`` operation per state goes into the history
   (:mod:`~harness.nemesis.powerloss.operations`)::

       {"f": "crash_state", "job": "j0", "value": {"operation": "save",
        "point": "after #11 rename(j0.json.tmp -> j0.json) (save_job returned: acknowledged)",
        "acknowledged": true,
        "state": "./: persisted create(j0.json.tmp), lost rename(j0.json.tmp -> j0.json)",
        "old": {"tag": [...], "digest": "..."}, "new": {...}, "older": {...},
        "untouched": {"j1": {...}}}}
       {"type": "ok", "value": {"read": {"kind": "job", "tag": [...]}, "recover_raised": null,
        "untouched": {"j1": {...}}, "litter": [], "backup": {"kind": "job", ...}}}

   :mod:`harness.checkers.crash_consistency` judges them (``crash_consistency``: C6,
   ``crash_backup``: C7, ``crash_litter``: C8). The numbered calls of each operation are kept in
   ``<run>/powerloss/<operation>.calls.txt`` and the raw trace in ``trace.strace``.

**Unknown, never a guess.** A call the model cannot follow (a shared writable ``mmap``,
``O_TMPFILE``, ``RENAME_EXCHANGE``, a ``symlink``; see
:mod:`~harness.nemesis.powerloss.syscall_handlers`), a replay that does not end with the files on
disk, or a traced process that fails records an event
``f="unknown"`` with ``{"reason": <the call, named>}``: the scenario's verdict is unknown. No state
of that operation is recorded, and the exploration goes on with the next one.

**The same seed gives the same states**: the payloads and every sample are drawn from one
``random.Random`` seeded with the run's seed, in a fixed order (a store whose file names are
random still traces different names).

Options (``[options]`` of the scenario): ``max_states`` (400 per operation), ``state_timeout``
(20 s), ``workers`` (checking processes, 2), ``update`` (also trace ``update_job``, true),
``keep_states`` (keep the materialized directories, false), ``page_samples`` (out-of-order page
variants per file and crash point, 8; 0: in order only), ``recover_cuts`` (states per operation
to cut again during ``recover()``, 2; 0: none), ``sequences`` (explore every sequence of up to
that many operations instead, :mod:`~harness.nemesis.powerloss.sequences`; 0: single operations).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from harness.history.log import OK, HistoryLog
from harness.nemesis.powerloss.check_pool import check_states, materialize
from harness.nemesis.powerloss.crash_states import Exploration, enumerate_crash_states
from harness.nemesis.powerloss.operation_trace import OperationTrace
from harness.nemesis.powerloss.operations import (
    OperationPlan,
    TracedOperation,
    plan_operations,
    record_crash_state,
    record_unknown,
)
from harness.nemesis.powerloss.options import PowerLossOptions
from harness.nemesis.powerloss.processes import TraceError, child_command, run_child, run_traced
from harness.nemesis.powerloss.recover_cuts import RecoverCut, choose_cuts, cut_recoveries
from harness.nemesis.powerloss.sequences import explore_sequences
from harness.nemesis.powerloss.snapshots import parse_open_descriptors
from harness.nemesis.powerloss.strace_log import RawCall, TraceModelError, parse_strace
from harness.nemesis.powerloss.traced_calls import PowerLossError, model_traced_call

PREPARE_TIMEOUT = 60.0  # seconds: one process opens the store and saves a few jobs
# What makes the exploration of one part unknown rather than a crash of the run.
_CANNOT_FOLLOW = (TraceModelError, TraceError, PowerLossError)


class PowerLossWorkload(Protocol):
    """The ``[workload]`` fields power loss reads."""

    @property
    def jobs(self) -> int: ...
    @property
    def payload_bytes(self) -> int: ...


class PowerLossScenario(Protocol):
    """What power loss reads of a scenario (``harness.scenario.loader.Scenario`` has it all).

    A protocol rather than an import: the scenario loader validates these options with
    :class:`PowerLossOptions`, so this package must not import it back.
    """

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def workload(self) -> PowerLossWorkload: ...


def explore_power_loss(
    scenario: PowerLossScenario,
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
    plan = plan_operations(scenario.workload.jobs, size, rng, update=options.update)
    started = time.monotonic()
    history = HistoryLog(histories / "powerloss.jsonl", "powerloss", epoch)
    if options.sequences:
        return _explore_sequences(spec, work, size, options, rng, history, started)
    problem = _prepare(spec, root, work, plan.prepared)
    if problem:
        reason = f"power loss: not explored: preparing the store failed: {problem}"
        return [record_unknown(history, reason, close=True)]
    problem = _trace(spec, root, work, work / "trace.strace", plan.operations, size)
    if problem:
        reason = f"power loss: not explored: the traced operation failed: {problem}"
        return [record_unknown(history, reason, close=True)]
    calls = parse_strace((work / "trace.strace").read_text(encoding="ascii", errors="replace"))
    try:
        notes = _explore_operations(plan, calls, spec, root, work, options, rng, history)
    finally:
        history.close()
        if not options.keep_states:
            shutil.rmtree(work / "states", ignore_errors=True)
        for snapshot in [*work.glob("*-before"), *work.glob("*-after")]:
            shutil.rmtree(snapshot, ignore_errors=True)
    notes.append(f"power loss: exploration took {time.monotonic() - started:.1f} s")
    return notes


def _explore_operations(
    plan: OperationPlan,
    calls: list[RawCall],
    spec: str,
    root: Path,
    work: Path,
    options: PowerLossOptions,
    rng: random.Random,
    history: HistoryLog,
) -> list[str]:
    """Each traced operation in turn, then the second cuts during ``recover()``; the notes.

    An operation the model cannot follow is recorded as unknown (judging its states would be a
    guess) and the next one is explored on its own.
    """
    notes: list[str] = []
    cuts: list[RecoverCut] = []
    for operation in plan.operations:
        if not (work / f"{operation.name}-before").is_dir():
            notes.append(
                f"power loss: {operation.name}_job was not traced "
                "(the store has none, or the save before it failed)"
            )
            continue
        try:
            notes.extend(
                _explore(
                    operation, calls, spec, root, work, plan.untouched, options, rng, history, cuts
                )
            )
        except _CANNOT_FOLLOW as error:
            notes.append(record_unknown(history, f"power loss, {operation.name}_job: {error}"))
    if cuts:
        try:
            notes.append(cut_recoveries(cuts, spec, work, plan.untouched, options, rng, history))
        except _CANNOT_FOLLOW as error:
            notes.append(record_unknown(history, f"power loss, a cut during recover(): {error}"))
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
        notes = [record_unknown(history, f"power loss, sequences: {error}")]
    finally:
        history.close()
        for snapshot in [*work.glob("*-before"), *work.glob("*-after"), *work.glob("seq-*")]:
            shutil.rmtree(snapshot, ignore_errors=True)
    notes.append(f"power loss: exploration took {time.monotonic() - started:.1f} s")
    return notes


def _explore(
    operation: TracedOperation,
    calls: list[RawCall],
    spec: str,
    root: Path,
    work: Path,
    untouched: dict[str, dict[str, Any]],
    options: PowerLossOptions,
    rng: random.Random,
    history: HistoryLog,
    cuts: list[RecoverCut],
) -> list[str]:
    """Model, check and record one traced operation; add the states to cut recover() on."""
    name = operation.name
    try:
        trace, listing = model_traced_call(calls, work, name, root, operation.open_files, name)
    except TraceModelError as error:
        raise TraceModelError(f"{error} (trace: {work / 'trace.strace'})") from None
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
    _record_trace(history, operation, trace, exploration)
    for state, result in zip(exploration.states, results, strict=True):
        record_crash_state(history, operation, state, result, untouched)
    cuts.extend(choose_cuts(operation, trace, exploration.states, known, options.recover_cuts, rng))
    return _notes(operation, trace, exploration, listing.relative_to(work.parent), options)


def _record_trace(
    history: HistoryLog,
    operation: TracedOperation,
    trace: OperationTrace,
    exploration: Exploration,
) -> None:
    """The ``powerloss_trace`` event: how many calls, crash points and states, and how it ended."""
    history.event(
        "powerloss_trace",
        operation.job,
        {
            "operation": operation.name,
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


def _notes(
    operation: TracedOperation,
    trace: OperationTrace,
    exploration: Exploration,
    listing: Path,
    options: PowerLossOptions,
) -> list[str]:
    """The report's notes on one explored operation: what was traced and checked."""
    name = operation.name
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
    note += f"; calls numbered in {listing}"
    notes = [note]
    if not operation.returned:
        notes.append(
            f"power loss, {name}_job({operation.job}) raised in the traced process "
            f"({operation.error}): no state counts as acknowledged"
        )
    return notes


# ---------------------------------------------------------------- prepare and trace


def _prepare(
    spec: str, root: Path, work: Path, jobs: list[tuple[str, dict[str, Any]]]
) -> str | None:
    """Save the baseline versions in a fresh process, then ``sync()``; None, or what failed."""
    instructions = work / "prepare.json"
    instructions.write_text(json.dumps({"spec": spec, "root": os.fspath(root), "jobs": jobs}))
    command = child_command("prepare_main", instructions)
    return run_child(command, PREPARE_TIMEOUT, work / "prepare.log")


def _trace(
    spec: str,
    root: Path,
    work: Path,
    log_path: Path,
    operations: list[TracedOperation],
    size: int,
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
        operation.open_files = parse_open_descriptors(outcome["open_files"])
    return None
