"""Latency as the store fills up: a 1 KB probe job saved and read beside 1 .. 100,000 jobs.

A store that scans its directory, or a filesystem that slows down with it, shows here. The file
stores (naive, phase470, hardened) share one folder: each has its own probe job in it
(``probe-<store>``), and the filler jobs make the directory bigger for all of them at once, so
the folder is filled (and later deleted) once, not once per store. SQLite grows its table in its
own folder. The floors write and read a file *in the same folder* (a dot-name no store lists):
a bigger directory costs them what it costs the store, so the ratio isolates what the store adds,
and ``save_p50_us`` / ``get_p50_us`` show the total. Writes and reads are timed in separate
rounds, interleaved with their floor, like the latency figures (:mod:`harness.bench.rounds`).

>>> entry = directory_entry(5, {"save": [2.0], "floor_write": [1.0], "get": [1.0],
...                             "floor_read": [2.0]}, "save", "get")
>>> entry["save_ratio"], entry["get_ratio"], entry["save_p50_us"]
(2.0, 0.5, 2000000.0)
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.bench.figures import paired_median_ratio
from harness.bench.floors import floor_durable_replace, floor_plain_read
from harness.bench.population import filler_jobs, populate
from harness.bench.rounds import TimedOperation, run_rounds
from harness.bench.stores import PAYLOAD_BYTES, dispose_store, make_bench_job, open_bench_store
from harness.store.handle import StoreHandle

FILE_STORES = ("naive", "phase470", "hardened")


def measure_directory_sizes(
    store_names: Sequence[str],
    work: Path,
    *,
    sizes: Sequence[int],
    rounds: int,
    warmup: int = 3,
    max_seconds: float = 30.0,
) -> dict[str, list[dict[str, Any]]]:
    """The directory-size curve of each store in ``store_names`` (file stores and sqlite)."""
    curves: dict[str, list[dict[str, Any]]] = {}
    file_stores = [name for name in store_names if name in FILE_STORES]
    groups = [(file_stores, work / "files")] if file_stores else []
    groups += [([name], work / name) for name in store_names if name not in FILE_STORES]
    for names, folder in groups:
        opened: dict[str, StoreHandle] = {}
        try:
            for name in names:
                opened[name] = open_bench_store(name, folder)
            stores = {name: handle.store for name, handle in opened.items()}
            curves.update(_measure_group(stores, folder, sizes, rounds, warmup, max_seconds))
        finally:
            for handle in opened.values():
                dispose_store(handle)
    return curves


def _measure_group(
    stores: dict[str, Any],
    folder: Path,
    sizes: Sequence[int],
    rounds: int,
    warmup: int,
    max_seconds: float,
) -> dict[str, list[dict[str, Any]]]:
    """Stores sharing ``folder``: grow it step by step, time every probe at every size."""
    probe = make_bench_job("probe", PAYLOAD_BYTES["1k"])
    body = json.dumps(probe).encode()
    floor_path = os.fspath(folder / ".floor-probe.json")
    floor_durable_replace(folder, floor_path, body)
    writes = [
        TimedOperation(
            "floor_write",
            "floor_write",
            None,
            "1k",
            None,
            lambda: floor_durable_replace(folder, floor_path, body),
        )
    ]
    reads = [
        TimedOperation(
            "floor_read", "floor_read", None, "1k", None, lambda: floor_plain_read(floor_path)
        )
    ]
    for name, store in stores.items():
        job_id = f"probe-{name}"
        store.save_job(job_id, probe)
        writes.append(
            TimedOperation(
                f"save.{name}", "save", name, "1k", "floor_write", _saver(store, job_id, probe)
            )
        )
        reads.append(
            TimedOperation(f"get.{name}", "get", name, "1k", "floor_read", _getter(store, job_id))
        )
    first_name, first_store = next(iter(stores.items()))
    curves: dict[str, list[dict[str, Any]]] = {name: [] for name in stores}
    present = len(stores)  # the probes
    for size in sorted(sizes):
        if size > present:
            # Any store's format will do for the fillers: only their number matters here.
            populate(first_name, first_store, filler_jobs(present, size), with_backup=False)
            present = size
        samples: dict[str, list[float]] = {}
        for operations in (writes, reads):
            measured, errors = run_rounds(
                operations, rounds=rounds, warmup=warmup, max_seconds=max_seconds
            )
            if errors:
                raise RuntimeError(f"directory size {size}: {errors}")
            samples.update(measured)
        for name in stores:
            curves[name].append(directory_entry(size, samples, f"save.{name}", f"get.{name}"))
    return curves


def _saver(store: Any, job_id: str, job: dict[str, Any]) -> Callable[[], object]:
    return lambda: store.save_job(job_id, job)


def _getter(store: Any, job_id: str) -> Callable[[], object]:
    return lambda: store.get_job(job_id)


def directory_entry(
    jobs: int, samples: dict[str, list[float]], save: str, get: str
) -> dict[str, Any]:
    """One point of a curve: the probe's p50s and paired ratios, and the floors' p50s."""
    save_ratio = paired_median_ratio(samples[save], samples["floor_write"])
    get_ratio = paired_median_ratio(samples[get], samples["floor_read"])
    return {
        "jobs": jobs,
        "save_p50_us": round(statistics.median(samples[save]) * 1e6, 1),
        "get_p50_us": round(statistics.median(samples[get]) * 1e6, 1),
        "save_ratio": None if save_ratio is None else round(save_ratio, 4),
        "get_ratio": None if get_ratio is None else round(get_ratio, 4),
        "floor_write_p50_us": round(statistics.median(samples["floor_write"]) * 1e6, 1),
        "floor_read_p50_us": round(statistics.median(samples["floor_read"]) * 1e6, 1),
    }
