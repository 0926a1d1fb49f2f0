"""Latency figures: each store operation timed in rounds interleaved with its floor.

A figure is one operation of one store at one payload (``save.hardened.1k``), compared with the
least that kind of operation can cost on this disk, measured in the same rounds:

==================  ================================================================
``floor_write.<p>``  unique temp file, write, fsync, rename, fsync of the directory
                     (:func:`harness.timing.floor_durable_replace`)
``floor_read.<p>``   open, read, ``json.loads`` (:func:`harness.timing.floor_plain_read`)
``save/update``      compared with ``floor_write`` of the same payload
``get/get_damaged``  compared with ``floor_read`` of the same payload
==================  ================================================================

Absolute times on a shared machine move from run to run (another tenant's fsyncs, CPU
frequency), so every round runs every operation of a group once (the writes with their floor,
or the reads with theirs: a read timed just after an fsync carries the write's aftermath), in
an order rotated by one each round, and a noisy burst hits all figures alike. The ratio of a
figure is the median, over rounds, of its sample divided by its floor's sample *of the same
round*: drifts slower than a round cancel in each quotient, and the median ignores the rounds a
burst hit anyway. That paired median is what stays put from run to run, and what a gate should
compare. It still moves when the *kind* of load changes (a busy journal makes every fsync
dearer, so an operation with one fsync gets cheaper relative to a floor with two).

>>> ops = [TimedOperation("floor_read.1k", "floor_read", None, "1k", None, lambda: None)]
>>> samples, errors = run_rounds(ops, rounds=3, warmup=1)
>>> len(samples["floor_read.1k"]), errors
(3, {})
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bench_stores import PAYLOAD_BYTES, damage_main_file, main_file_size, make_bench_job
from harness.errors import HarnessError
from harness.stats import percentile
from harness.timing import floor_durable_replace, floor_plain_read

Samples = dict[str, list[float]]


@dataclass(frozen=True)
class TimedOperation:
    """One thing to time: ``call`` is timed; ``prepare`` (if any) runs untimed before it."""

    figure: str
    op: str
    store: str | None
    payload: str
    floor: str | None
    call: Callable[[], object]
    prepare: Callable[[], None] | None = None


class MeasurementError(HarnessError):
    """An operation did not do what its figure claims (e.g. a damaged read served an error)."""


# ---------------------------------------------------------------------------- operations


def floor_operations(floor_dir: Path, payload: str, job: dict[str, Any]) -> list[TimedOperation]:
    """The two floors of ``payload``, on a file in ``floor_dir`` holding ``job`` as plain JSON."""
    floor_dir.mkdir(parents=True, exist_ok=True)
    body = json.dumps(job).encode()
    path = os.fspath(floor_dir / f"floor-{payload}.json")
    floor_durable_replace(floor_dir, path, body)  # so the first read has a file
    return [
        TimedOperation(
            f"floor_write.{payload}",
            "floor_write",
            None,
            payload,
            None,
            lambda: floor_durable_replace(floor_dir, path, body),
        ),
        TimedOperation(
            f"floor_read.{payload}",
            "floor_read",
            None,
            payload,
            None,
            lambda: floor_plain_read(path),
        ),
    ]


def store_operations(
    name: str, store: Any, payload: str, job: dict[str, Any]
) -> list[TimedOperation]:
    """``save``, ``get`` and ``update`` of one job of ``payload`` size in ``store``."""
    job_id = job["id"]
    store.save_job(job_id, job)
    counter = itertools.count(1)
    write_floor, read_floor = f"floor_write.{payload}", f"floor_read.{payload}"
    return [
        TimedOperation(
            f"save.{name}.{payload}",
            "save",
            name,
            payload,
            write_floor,
            lambda: store.save_job(job_id, job),
        ),
        TimedOperation(
            f"get.{name}.{payload}", "get", name, payload, read_floor, lambda: store.get_job(job_id)
        ),
        TimedOperation(
            f"update.{name}.{payload}",
            "update",
            name,
            payload,
            write_floor,
            lambda: store.update_job(job_id, {"progress": next(counter)}),
        ),
    ]


def damaged_read_operation(
    name: str, store: Any, payload: str, job: dict[str, Any]
) -> TimedOperation:
    """``get_job`` right after the job's main file was truncated (the recovery path).

    The job is saved twice first, so a backup of the same content exists. The main file is torn
    again before every sample, because the hardened store repairs it on the read being timed.
    A read that does not come back with the job fails the figure: it would time the wrong path.
    """
    job_id = job["id"]
    store.save_job(job_id, job)
    store.save_job(job_id, job)
    good_size = main_file_size(store, job_id)

    def damage() -> None:
        damage_main_file(store, job_id, good_size)

    def read() -> object:
        result = store.get_job(job_id)
        if not isinstance(result, dict) or result.get("status") == "unknown":
            raise MeasurementError(
                f"{name}: get_job on a damaged file returned {str(result)[:120]}"
            )
        return result

    return TimedOperation(
        f"get_damaged.{name}.{payload}",
        "get_damaged",
        name,
        payload,
        f"floor_read.{payload}",
        read,
        damage,
    )


def payload_job(store_name: str, payload: str) -> dict[str, Any]:
    """The job a latency figure writes: one per store and payload, same content every run."""
    return make_bench_job(f"bench-{store_name}-{payload}", PAYLOAD_BYTES[payload])


# ---------------------------------------------------------------------------- measuring


def run_rounds(
    operations: Sequence[TimedOperation],
    *,
    rounds: int,
    warmup: int,
    max_seconds: float = math.inf,
    min_rounds: int = 5,
) -> tuple[Samples, dict[str, str]]:
    """Time every operation once per round, rotating the order by one each round.

    Returns the samples (seconds, one per round, index-aligned across operations) and the
    operations that raised, with the error; an operation that raises is dropped from the later
    rounds (its samples too, so alignment holds). Stops early after ``max_seconds`` once
    ``min_rounds`` are done. The garbage collector is paused inside the rounds, so a collection
    triggered by one figure does not land in another's sample.
    """
    active = list(operations)
    errors: dict[str, str] = {}
    samples: Samples = {op.figure: [] for op in active}
    deadline = math.inf
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for round_number in range(-warmup, rounds):
            if round_number == 0:
                deadline = time.perf_counter() + max_seconds
            shift = round_number % len(active)
            for op in active[shift:] + active[:shift]:
                try:
                    elapsed = _time_once(op)
                except Exception as error:
                    errors[op.figure] = f"{type(error).__name__}: {error}"
                    continue
                if round_number >= 0:
                    samples[op.figure].append(elapsed)
            if errors:
                active = [op for op in active if op.figure not in errors]
                for figure in errors:
                    samples.pop(figure, None)
                if not active:
                    break
            if round_number + 1 >= min_rounds and time.perf_counter() > deadline:
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    _trim_to_common_length(samples)
    return samples, errors


def _time_once(op: TimedOperation) -> float:
    if op.prepare is not None:
        op.prepare()
    started = time.perf_counter()
    op.call()
    return time.perf_counter() - started


def _trim_to_common_length(samples: Samples) -> None:
    """A round cut short by an error leaves ragged lists; keep the rounds every figure has."""
    if samples:
        shortest = min(len(values) for values in samples.values())
        for values in samples.values():
            del values[shortest:]


# ---------------------------------------------------------------------------- summaries


def paired_median_ratio(values: Sequence[float], floors: Sequence[float]) -> float | None:
    """The median over rounds of ``values[i] / floors[i]`` (None without usable pairs)."""
    quotients = [v / f for v, f in zip(values, floors, strict=False) if f > 0]
    return statistics.median(quotients) if quotients else None


def summarize(
    op: TimedOperation, values: Sequence[float], floors: Sequence[float] | None
) -> dict[str, Any]:
    """The bench.json record of one figure from its samples (seconds) and its floor's samples."""
    p50 = percentile(values, 50) * 1e6
    ratio = paired_median_ratio(values, floors) if op.floor and floors else None
    return {
        "value": round(p50, 1),
        "unit": "us",
        "p50_us": round(p50, 1),
        "p99_us": round(percentile(values, 99) * 1e6, 1),
        "samples": len(values),
        "floor": op.floor,
        "ratio": None if ratio is None else round(ratio, 4),
        "store": op.store,
        "op": op.op,
        "payload": op.payload,
    }


def summarize_all(
    operations: Sequence[TimedOperation], samples: Samples
) -> dict[str, dict[str, Any]]:
    """Figures for every operation that has samples, each paired with its floor's samples."""
    figures: dict[str, dict[str, Any]] = {}
    for op in operations:
        values = samples.get(op.figure)
        if not values:
            continue
        floors = samples.get(op.floor) if op.floor else None
        figures[op.figure] = summarize(op, values, floors)
    return figures
