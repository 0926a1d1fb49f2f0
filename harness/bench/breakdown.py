"""Where a save spends its time, step by step, so a regression points at its cause.

The stores' save paths mark the end of each step (:func:`durable_jobs.steps.mark`, free unless
someone records); the breakdown records them around the *real* ``save_job``::

    with steps.recording() as record:
        store.save_job("breakdown", job)
    record.durations()   # {"encode": 4.1e-06, "lock": ..., "total": 0.00091}

so there is no copy of the save code to drift from it. The steps of one save add up to its
``total`` exactly (each is the time since the previous mark); the breakdown keeps the median of
each step over the rounds, in microseconds, as ``<step>_us``, so the medians add up to *about*
the median total:

* hardened (``FileJobStore.save_job``): encode, lock, read_current, write, fsync,
  rename_backup, rename, dir_fsync (the job is ``running``: the current file becomes the
  backup by a rename);
* phase470 (``Phase470JobStore.save_job``): copy_backup, encode, write, fsync, rename.

>>> HARDENED_STEPS[:3]
('encode', 'lock', 'read_current')
"""

from __future__ import annotations

import statistics
from typing import Any

from durable_jobs import steps
from harness.bench.rounds import TimedOperation, run_rounds
from harness.bench.stores import PAYLOAD_BYTES, make_bench_job

HARDENED_STEPS = (
    "encode",
    "lock",
    "read_current",
    "write",
    "fsync",
    "rename_backup",
    "rename",
    "dir_fsync",
)
PHASE470_STEPS = ("copy_backup", "encode", "write", "fsync", "rename")
STEPS = {"hardened": HARDENED_STEPS, "phase470": PHASE470_STEPS}
BREAKDOWN_STORES = tuple(STEPS)
BREAKDOWN_JOB = "breakdown"


def recorded_save(store: Any, job_id: str, job: dict[str, Any]) -> dict[str, float]:
    """One real ``store.save_job(job_id, job)``, its seconds per marked step and ``total``."""
    with steps.recording() as record:
        store.save_job(job_id, job)
    return record.durations()


def measure_breakdown(
    store_name: str,
    store: Any,
    *,
    rounds: int,
    warmup: int = 5,
    max_seconds: float = 20.0,
) -> dict[str, float]:
    """The median of each step of ``store``'s real save of a 1 KB job, and of the total (us).

    ``store`` is an open store of ``store_name`` (hardened or phase470). The job is saved once
    first, so every timed save has a current version to read and back up. A step the store did
    not mark in some save (a path the benchmark did not mean to time) is an error.
    """
    job = make_bench_job(BREAKDOWN_JOB, PAYLOAD_BYTES["1k"])
    store.save_job(BREAKDOWN_JOB, job)
    recorded: list[dict[str, float]] = []
    operation = TimedOperation(
        "breakdown",
        "save",
        store_name,
        "1k",
        None,
        lambda: recorded.append(recorded_save(store, BREAKDOWN_JOB, job)),
    )
    samples, errors = run_rounds([operation], rounds=rounds, warmup=warmup, max_seconds=max_seconds)
    if errors:
        raise RuntimeError(f"breakdown of {store_name}: {errors}")
    measured = recorded[-len(samples["breakdown"]) :]
    expected = {*STEPS[store_name], "total"}
    for durations in measured:
        if set(durations) != expected:
            raise RuntimeError(
                f"breakdown of {store_name}: a save marked {sorted(durations)}, "
                f"expected {sorted(expected)} (durable_jobs.steps marks in the save path)"
            )
    return {
        f"{step}_us": round(statistics.median(d[step] for d in measured) * 1e6, 1)
        for step in (*STEPS[store_name], "total")
    }
