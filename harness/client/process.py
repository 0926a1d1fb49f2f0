"""The code that runs inside each harness process: open the store, do the role's work, record it.

A process is started by the runner with a :class:`ProcessConfig` (plain data, so it crosses the
process boundary). It opens the store by calling the spec's factory itself, as a separate
application process would, signals *ready*, waits for *go*, then runs its role until its
deadline or its operation budget:

========  ================================================================================
writer    saves tagged jobs (its own jobs, or every job when jobs are shared)
reader    reads random jobs
updater   ``update_job(job, {"u<i>": seq})``: each updater owns one field of every job
worker    runs its jobs through queued -> running (progress) -> done, saving each step
restart   calls ``recover()`` once, as an application does at start-up
final     reads every job once, in a quiet store, after the restart
setup     saves the first version of every job and reports what the store can do
========  ================================================================================

Every store call is recorded as an invoke and a completion (see :mod:`harness.history.log`); the
time spent in the store call alone is what the latency figures measure. Nothing here writes
with ``write(2)`` or calls ``fsync``: the fault injector counts those system calls, and they must
be the store's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from harness.client import calls, descriptors, turns
from harness.client.calls import recorded
from harness.client.turns import TurnPipes, TurnsEnded
from harness.history.log import FAIL, OK, HistoryLog
from harness.history.outcomes import describe_error
from harness.store.handle import StoreHandle
from harness.store.spec import StorePathsError
from harness.workload.payload import (
    WRITE_TAG_KEY,
    choose_size,
    make_job,
    summarize_read,
    write_record,
)


@dataclass(frozen=True)
class ProcessConfig:
    """Everything one process needs; built by the runner, pickled to the child."""

    name: str  # e.g. "writer-0", or "writer-0.1" for a second incarnation
    role: str
    index: int
    spec: str
    root: str
    history_path: str
    epoch: float  # the run's time zero on the monotonic clock
    seed: int
    jobs: tuple[str, ...] = ()  # the jobs this process writes or runs
    all_jobs: tuple[str, ...] = ()  # the jobs readers may read
    payload_bytes: int = 1024
    payload_sizes: tuple[int, ...] = ()  # a mix to draw each job's size from (empty: payload_bytes)
    shared_jobs: bool = False
    duration: float = 60.0  # seconds after *go* to keep starting operations
    deadline: float = 0.0  # set in the process when go arrives: go time + duration
    max_ops: int | None = None
    steps: int = 5
    think: float = 0.0  # seconds between operations
    fields: tuple[str, ...] = ()  # updater fields readers should report
    recover_first: bool = False  # a restarted incarnation recovers the store first
    setup_report: str = ""  # setup: where to write capabilities and file paths
    turns: TurnPipes | None = None  # deterministic mode: every store call waits for its turn
    extra: dict[str, Any] = field(default_factory=dict)


def run_process(
    config: ProcessConfig, ready: Any, go: Any, finished: Any = None, busy_since: Any = None
) -> None:
    """Entry point of a harness process (the runner's ``Process`` target).

    ``finished`` is set when the role's work is done: a process that exits without it, with any
    exit code, died by itself. ``busy_since`` is the shared clock of the call in flight.
    """
    calls.use_call_clock(busy_since)
    turns.use_turns(config.turns)  # first: it closes the other processes' pipes inherited here
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    log = HistoryLog(config.history_path, config.name, config.epoch)
    rng = random.Random(f"{config.seed}/{config.name}")
    descriptors.lower_open_files_limit()  # a descriptor leak must run out within the run
    token = log.invoke("open", None, {"spec": config.spec, "pid": os.getpid()})
    try:
        calls.set_busy(True)
        handle = StoreHandle.open(config.spec, config.root)  # its logging quieted first
    except BaseException as error:  # a factory that fails is reported, not a traceback
        log.complete(token, FAIL, None, describe_error(error))
        ready.set()
        raise SystemExit(3) from None
    calls.set_busy(False)
    log.complete(token, OK, {"capabilities": handle.capabilities})
    descriptors.start_sampling(log)
    ready.set()
    if not go.wait(timeout=120):
        log.event("abandoned", None, {"reason": "no go signal within 120 s"})
        raise SystemExit(4)
    config = dataclasses.replace(config, deadline=time.monotonic() + config.duration)
    try:
        # In deterministic mode TurnsEnded says the phase's turns are spent: the work is done.
        with contextlib.suppress(TurnsEnded):
            _run_role(handle, config, log, rng)
        if finished is not None:
            finished.set()
    finally:
        descriptors.stop_sampling()
        try:
            handle.close()
        except Exception as error:  # closing is not under test; note it and move on
            log.event("close", None, {"error": describe_error(error)})
        log.close()


def _run_role(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    if config.recover_first:
        recover_store(handle, log)  # a restarted application process recovers first
        # ...and looks at every job at once, so what its recovery did to the jobs of the
        # processes still alive is seen before they save over it.
        for job_id in config.all_jobs:
            read(handle, log, job_id, config.fields)
    ROLE_FUNCTIONS[config.role](handle, config, log, rng)


# ---------------------------------------------------------------- roles


def run_writer(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    seq = 0
    while _may_continue(config, seq):
        seq += 1
        job_id = (
            rng.choice(config.jobs)
            if config.shared_jobs
            else config.jobs[(seq - 1) % len(config.jobs)]
        )
        job = make_job(job_id, config.name, seq, _payload_size(config, rng), rng)
        save(handle, log, job_id, job)


def run_reader(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    count = 0
    while _may_continue(config, count):
        count += 1
        read(handle, log, rng.choice(config.all_jobs), config.fields)


def run_updater(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    field_name = f"u{config.index}"
    seq = 0
    while _may_continue(config, seq):
        seq += 1
        job_id = config.jobs[(seq - 1) % len(config.jobs)]
        changes = {field_name: seq}
        # An update that raised may or may not have been applied: its outcome is unknown (info).
        call = functools.partial(handle.store.update_job, job_id, changes)
        recorded(log, "update", job_id, {"changes": changes}, call)


def run_worker(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    """Run each of the process's jobs to the end, saving every step like the incident's worker."""
    owner = _owner()
    seq = 0
    for job_id in config.jobs:
        if not _may_continue(config, 0):
            return
        base = make_job(job_id, config.name, 0, _payload_size(config, rng), rng)
        steps = [("queued", 0.0)] + [
            ("running", step / config.steps) for step in range(config.steps)
        ]
        steps.append(("done", 1.0))
        for status, progress in steps:
            seq += 1
            job = dict(base, status=status, progress=progress, owner=owner)
            job[WRITE_TAG_KEY] = [config.name, seq]
            if status == "done":
                job["result"] = f"{job_id}.csv"
            if not save(handle, log, job_id, job):
                break  # the incident's worker would stop on an exception too; the job is left as is
            if config.think and status != "done":
                time.sleep(config.think)  # the work of one step


def run_restart(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    recover_store(handle, log)


def run_final(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    for job_id in config.all_jobs:
        read(handle, log, job_id, config.fields, final=True)


def run_setup(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    """Save version 0 of each job and report capabilities and the job files' paths.

    A ``paths_for`` that raised leaves its job out of ``paths`` and ``layout`` (nothing is aimed
    at guessed files) and is reported as ``paths_error``.
    """
    for job_id in config.jobs:
        save(handle, log, job_id, make_job(job_id, "setup", 0, _payload_size(config, rng), rng))
    # Every job's paths, not only those saved here: in a worker scenario the workers create
    # their jobs, and a damage aimed at them needs their files (a store that declares none has
    # only existing files guessed, so those jobs stay out).
    paths, paths_error = _job_paths(handle, config.all_jobs)
    report = {"capabilities": handle.capabilities, "paths": paths, "medium": handle.medium}
    report.update(handle.files_report(config.all_jobs))  # for no_litter
    if paths_error:
        report["paths_error"] = paths_error
    with open(config.setup_report, "w", encoding="utf-8") as out:
        json.dump(report, out)


def run_timer(
    handle: StoreHandle, config: ProcessConfig, log: HistoryLog, rng: random.Random
) -> None:
    from harness.bench.timer import measure_latencies

    measure_latencies(handle, config, log, rng)


ROLE_FUNCTIONS = {
    "timer": run_timer,
    "writer": run_writer,
    "reader": run_reader,
    "updater": run_updater,
    "worker": run_worker,
    "restart": run_restart,
    "final": run_final,
    "setup": run_setup,
}


# ---------------------------------------------------------------- recorded calls


def save(handle: StoreHandle, log: HistoryLog, job_id: str, job: dict[str, Any]) -> bool:
    """Call ``save_job`` and record it; a save that raised is *info* (it may have happened)."""
    store = handle.store
    returned, _ = recorded(
        log, "save", job_id, write_record(job), lambda: store.save_job(job_id, job)
    )
    return returned


def read(
    handle: StoreHandle,
    log: HistoryLog,
    job_id: str,
    fields: tuple[str, ...] = (),
    final: bool = False,
) -> None:
    """Call ``get_job`` and record a summary of what it returned; raising is a *fail*."""
    store = handle.store
    recorded(
        log,
        "get",
        job_id,
        {"final": True} if final else None,
        lambda: store.get_job(job_id),
        raised=FAIL,
        summarize=lambda result: summarize_read(result, fields),
    )


def recover_store(handle: StoreHandle, log: HistoryLog) -> None:
    """Call ``recover()`` and record it; a store without one gets a failed ``recover`` event."""
    if not handle.has("recover"):
        log.event("recover", None, {"absent": True}, kind=FAIL)
        return
    recorded(log, "recover", None, None, handle.store.recover, summarize=_jsonable)


# ---------------------------------------------------------------- helpers


def _may_continue(config: ProcessConfig, done: int) -> bool:
    if config.max_ops is not None and done >= config.max_ops:
        return False
    if done and config.think:
        time.sleep(
            config.think
        )  # pacing of the workload (a poller's interval), not a wait for an event
    # In deterministic mode the runner ends the phase (no more turns), not the clock: a
    # deadline would stop each process after however many calls its machine managed.
    return config.turns is not None or time.monotonic() < config.deadline


def _payload_size(config: ProcessConfig, rng: random.Random) -> int:
    return choose_size(config.payload_sizes, config.payload_bytes, rng)


def _job_paths(
    handle: StoreHandle, jobs: tuple[str, ...]
) -> tuple[dict[str, dict[str, str]], str | None]:
    """Where each job's files are, and why some are not known (the first ``paths_for`` raise).

    The store's ``paths_for`` when it has one; without it the incident's layout, for the jobs
    whose ``<root>/<id>.json`` exists. A job whose ``paths_for`` raised is left out: damage
    aimed at a guessed file may hit the wrong one and pass for a store that recovered.
    """
    paths: dict[str, dict[str, str]] = {}
    error: str | None = None
    for job_id in jobs:
        try:
            found = handle.paths_for(job_id)
        except StorePathsError as raised:
            error = error or str(raised)
            continue
        if not handle.has("paths_for") and not found["main"].exists():
            continue  # the documented default is used only where its files are
        paths[job_id] = {role: os.fspath(path) for role, path in found.items()}
    return paths, error


def _owner() -> dict[str, Any]:
    """The owner record of durable_jobs' lifecycle convention (other stores ignore the key)."""
    try:
        from durable_jobs.lifecycle import current_owner
    except ImportError:
        return {"pid": os.getpid()}
    return current_owner()


def _jsonable(value: object) -> Any:
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        value = as_dict()
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = json.dumps(repr(value))
    if len(text) > 4000:
        return {"summary": text[:4000] + "..."}
    return json.loads(text)
