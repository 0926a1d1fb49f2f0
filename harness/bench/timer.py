"""The ``latency`` scenario's timer: the store against floors taken in the same run, on its medium.

Absolute times on a shared machine move from run to run, so the store is never timed alone. One
process measures, in interleaved rounds so that a burst of noise hits every figure alike:

==============  ======================================================================
floor_write     the least any durable write costs on the store's medium (see
                :mod:`harness.bench.floors`: a durable file replace by default, a
                committed one-row upsert for PostgreSQL)
floor_read      the least any read costs there (a plain file read + ``json.loads``; a
                one-row ``SELECT`` by key)
naive_save      the incident's pre-fix design (``json.dump`` into the file, no fsync)
naive_get       its read (``json.load``)
save, get       the store under test
get_recovering  the store's ``get_job`` right after its job file was damaged, each sample
                by one of the damage kinds in turn (bit flip, garbage, empty, truncate,
                delete; see :mod:`harness.nemesis.damage`)
==============  ======================================================================

The rounds are the bench's own (:func:`harness.bench.rounds.run_rounds`, three warm-up rounds,
the scenario's deadline), in a seeded shuffled order (:func:`harness.bench.rounds.shuffled`),
and each measured call is recorded into the history as an operation with the time inside the
call (``elapsed``, :func:`harness.client.calls.recorded`); which floor was measured is recorded first,
as a ``floor`` event. The ``performance_budget`` checker judges the incident's budget from the
history alone. Where the job file to damage is comes from the store
(:meth:`harness.store.handle.StoreHandle.job_file`), never guessed.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from harness.bench.floors import FloorError, floor_for
from harness.bench.rounds import TimedOperation, run_rounds, shuffled
from harness.client.calls import recorded
from harness.history.log import FAIL, OK, HistoryLog
from harness.nemesis.damage import damage_file
from harness.store.handle import StoreHandle, StorePathsError
from harness.workload.payload import make_job

# Every kind of damage the nemesis does to a job file; a store's slow path may hide behind any.
DAMAGE_KINDS = ("bitflip", "garbage", "empty", "truncate", "delete")
RECOVERING_SAMPLES = 50  # 10 per kind: a retry on one kind alone is 20% of the p99's samples
WARMUP_ROUNDS = 3  # warm caches and code paths before anything is recorded
JOB = "t0"


def measure_latencies(
    handle: StoreHandle, config: Any, log: HistoryLog, rng: random.Random
) -> None:
    """Run the interleaved measurement rounds for a ``latency`` scenario."""
    from durable_jobs.legacy import NaiveJobStore

    store, root = handle.store, Path(config.root)
    naive = NaiveJobStore(root.parent / "naive")
    job = make_job(JOB, "timer", 0, config.payload_bytes, rng)
    try:
        floor = floor_for(store, root.parent / "floor", json.dumps(job).encode())
    except FloorError as error:
        # Judging the store against another medium's floor would be a guess: say so instead.
        log.event("unknown", None, {"reason": f"the latency floor cannot be measured: {error}"})
        return
    log.event("floor", None, floor.describe(), kind=OK)
    try:
        store.save_job(JOB, job)
        naive.save_job(JOB, job)
        calls = {
            "floor_write": floor.write,
            "save": lambda: store.save_job(JOB, job),
            "naive_save": lambda: naive.save_job(JOB, job),
            "floor_read": floor.read,
            "get": lambda: store.get_job(JOB),
            "naive_get": lambda: naive.get_job(JOB),
        }
        operations = [
            TimedOperation(name, name, None, "", None, call) for name, call in calls.items()
        ]
        run_rounds(
            operations,
            rounds=int(config.extra.get("samples", 200)),
            warmup=WARMUP_ROUNDS,
            min_rounds=0,
            deadline=config.deadline,
            order=shuffled(rng),
            measure=lambda op: _recorded_call(log, op),
        )
    finally:
        floor.close()
    _measure_recovering_reads(handle, config, log, rng, floor.medium)


def _recorded_call(log: HistoryLog, op: TimedOperation) -> float:
    """Record ``op``'s call into the history (the checker reads its ``elapsed``); never raises.

    A call that raises is recorded as a *fail* and stays in the rounds, as every recorded call.
    """
    started = time.perf_counter()
    recorded(log, op.figure, JOB, None, op.call, raised=FAIL)
    return time.perf_counter() - started


def _measure_recovering_reads(
    handle: StoreHandle, config: Any, log: HistoryLog, rng: random.Random, medium: str
) -> None:
    """Save a fresh version, damage the job file one way, time one ``get_job``; repeat.

    The kinds take turns, so every kind gets the same share of the samples and a store that
    is slow on one of them only (a retry loop behind a checksum mismatch) lands in the p99.
    """
    try:
        main = handle.job_file(JOB)
    except StorePathsError as error:
        # Damage aimed at a guessed file could hit the wrong one and pass for a recovery.
        log.event("get_recovering", JOB, {"skipped": f"nothing damaged: {error}"}, kind=FAIL)
        return
    if main is None:
        log.event("get_recovering", JOB, {"skipped": _no_job_file(medium)}, kind=FAIL)
        return
    store = handle.store
    count = int(config.extra.get("recovering_samples", RECOVERING_SAMPLES))
    timed: set[str] = set()
    for sequence in range(1, count + 1):
        if time.monotonic() > config.deadline:
            break
        how = DAMAGE_KINDS[(sequence - 1) % len(DAMAGE_KINDS)]
        store.save_job(JOB, make_job(JOB, "timer", sequence, config.payload_bytes, rng))
        try:
            damage = damage_file(str(main), how, rng)
        except FileNotFoundError:
            reason = f"no job file at {main} to damage after a save (paths_for names it)"
            log.event("get_recovering", JOB, {"skipped": reason, "how": how}, kind=FAIL)
            break
        recorded(log, "get_recovering", JOB, damage, lambda: store.get_job(JOB), raised=FAIL)
        timed.add(how)
    missing = [how for how in DAMAGE_KINDS[:count] if how not in timed]
    if missing:
        # A budget judged on some kinds only could pass a store slow on the others.
        log.event(
            "unknown",
            None,
            {"reason": f"get_job on a damaged job file was not timed for {', '.join(missing)}"},
        )


def _no_job_file(medium: str) -> str:
    if medium == "file":
        return "the store does not say where its job files are (give it paths_for)"
    return f"the store keeps its jobs in {medium}, not in job files the harness can damage"
