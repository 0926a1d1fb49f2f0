"""Latency measured against floors taken in the same run, on the store's own medium.

Absolute times on a shared machine move from run to run, so the store is never timed alone. One
process measures, in interleaved rounds so that a burst of noise hits every figure alike:

==============  ======================================================================
floor_write     the least any durable write costs on the store's medium (see
                :mod:`harness.floors`: a durable file replace by default, a committed
                one-row upsert for PostgreSQL)
floor_read      the least any read costs there (a plain file read + ``json.loads``; a
                one-row ``SELECT`` by key)
naive_save      the incident's pre-fix design (``json.dump`` into the file, no fsync)
naive_get       its read (``json.load``)
save, get       the store under test
get_recovering  the store's ``get_job`` right after its job file was damaged, each sample
                by one of the damage kinds in turn (bit flip, garbage, empty, truncate,
                delete; see :mod:`harness.nemesis.damage`)
==============  ======================================================================

Each is recorded as an operation with the time inside the call (``elapsed``); which floor was
measured is recorded first, as a ``floor`` event. The ``performance_budget`` checker judges the
incident's budget from the history alone.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.client.calls import recorded
from harness.floors import FloorError, floor_durable_replace, floor_for, floor_plain_read
from harness.history.log import FAIL, OK, HistoryLog
from harness.nemesis.damage import damage_file
from harness.workload.payload import make_job

# Every kind of damage the nemesis does to a job file; a store's slow path may hide behind any.
DAMAGE_KINDS = ("bitflip", "garbage", "empty", "truncate", "delete")
RECOVERING_SAMPLES = 50  # 10 per kind: a retry on one kind alone is 20% of the p99's samples

__all__ = [
    "DAMAGE_KINDS",
    "floor_durable_replace",
    "floor_plain_read",
    "measure_latencies",
]


def measure_latencies(store: Any, config: Any, log: HistoryLog, rng: random.Random) -> None:
    """Run the interleaved measurement rounds for a ``latency`` scenario."""
    from durable_jobs.legacy import NaiveJobStore

    root = Path(config.root)
    naive = NaiveJobStore(root.parent / "naive")
    samples = int(config.extra.get("samples", 200))
    job = make_job("t0", "timer", 0, config.payload_bytes, rng)
    try:
        floor = floor_for(store, root.parent / "floor", json.dumps(job).encode())
    except FloorError as error:
        # Judging the store against another medium's floor would be a guess: say so instead.
        log.event("unknown", None, {"reason": f"the latency floor cannot be measured: {error}"})
        return
    log.event("floor", None, floor.describe(), kind=OK)
    try:
        store.save_job("t0", job)
        naive.save_job("t0", job)
        measurements: list[tuple[str, Callable[[], object]]] = [
            ("floor_write", floor.write),
            ("save", lambda: store.save_job("t0", job)),
            ("naive_save", lambda: naive.save_job("t0", job)),
            ("floor_read", floor.read),
            ("get", lambda: store.get_job("t0")),
            ("naive_get", lambda: naive.get_job("t0")),
        ]
        for _ in range(3):  # warm caches and code paths before anything is recorded
            for _, call in measurements:
                call()
        for _ in range(samples):
            if time.monotonic() > config.deadline:
                break
            # A new seeded order each round: no figure always goes first, and none always
            # follows the same one (a database read right after a file write is slower than
            # one right after another round trip, which once put the floor above the store).
            for name, call in rng.sample(measurements, len(measurements)):
                _timed(log, name, "t0", None, call)
    finally:
        floor.close()
    _measure_recovering_reads(store, config, log, rng, floor.medium)


def _measure_recovering_reads(
    store: Any, config: Any, log: HistoryLog, rng: random.Random, medium: str
) -> None:
    """Save a fresh version, damage the job file one way, time one ``get_job``; repeat.

    The kinds take turns, so every kind gets the same share of the samples and a store that
    is slow on one of them only (a retry loop behind a checksum mismatch) lands in the p99.
    """
    main = _job_file(store, config.root)
    if main is None:
        log.event(
            "get_recovering",
            "t0",
            {"skipped": _no_job_file(medium)},
            kind=FAIL,
        )
        return
    count = int(config.extra.get("recovering_samples", RECOVERING_SAMPLES))
    timed: set[str] = set()
    for sequence in range(1, count + 1):
        if time.monotonic() > config.deadline:
            break
        how = DAMAGE_KINDS[(sequence - 1) % len(DAMAGE_KINDS)]
        store.save_job("t0", make_job("t0", "timer", sequence, config.payload_bytes, rng))
        try:
            damage = damage_file(main, how, rng)
        except FileNotFoundError:
            reason = f"no job file at {main} to damage after a save (paths_for names it)"
            log.event("get_recovering", "t0", {"skipped": reason, "how": how}, kind=FAIL)
            break
        _timed(log, "get_recovering", "t0", damage, lambda: store.get_job("t0"))  # damage: how
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


def _job_file(store: Any, root: str) -> str | None:
    """Where the store keeps job ``t0``: its ``paths_for``, else the incident's layout, else None."""
    paths_for = getattr(store, "paths_for", None)
    if callable(paths_for):
        try:
            return os.fspath(paths_for("t0")["main"])
        except Exception:
            pass
    default = os.path.join(root, "t0.json")
    return default if os.path.exists(default) else None


def _timed(log: HistoryLog, name: str, job: str, value: Any, call: Callable[[], object]) -> None:
    recorded(log, name, job, value, call, raised=FAIL)
