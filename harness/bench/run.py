"""One bench run: every phase of a :class:`~harness.bench.plan.BenchPlan`, in a work folder.

Phases (each in its own module, shared with the pytest-benchmark suite in ``benchmarks/``):

1. **latency** (:mod:`harness.bench.operations`, timed by :mod:`harness.bench.rounds`): per
   payload (1k, 64k, 1m; quick: 1k, 64k), every store's ``save``/``get``/``update`` and the
   three floors, in interleaved rotated rounds; then ``get_damaged`` for the stores with job
   files and a backup (hardened, phase470) with their read floor;
2. **breakdown** (:mod:`harness.bench.breakdown`): where a hardened / phase470 save spends its
   time, from the marks of the real save path (:mod:`durable_jobs.steps`);
3. **recover** (:mod:`harness.bench.population`): a cold ``recover()`` over 10,000 jobs
   (quick: 2,000);
4. **directory size** (:mod:`harness.bench.directory`): probe latency with 1 .. 100,000 jobs;
5. **scaling** (:mod:`harness.bench.scaling`): 1-16 processes (quick: 1-4) on distinct jobs,
   on one job, and readers alongside writers, counted in fixed windows;
6. the targets (:mod:`harness.bench.targets`), judged on the figures.

Everything runs in ``DIR/.work-<random>`` (the same filesystem as the results, so floors and
stores share a disk), removed at the end, on errors and on Ctrl-C, with every process stopped
and every PostgreSQL table dropped. A phase that raises loses its own figures only: the error
is kept under ``_errors`` and the next phase runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.bench.breakdown import BREAKDOWN_STORES, measure_breakdown
from harness.bench.directory import measure_directory_sizes
from harness.bench.figures import summarize_all
from harness.bench.inject import inject_regression
from harness.bench.operations import (
    WRITE_OPS,
    damaged_read_operation,
    floor_operations,
    payload_job,
    store_operations,
)
from harness.bench.plan import DAMAGED_STORES, DIRECTORY_STORES, RECOVER_STORES, BenchPlan
from harness.bench.population import ABANDONED_EVERY, jobs_for_recover, populate, time_cold_recover
from harness.bench.rounds import MeasurementError, TimedOperation, run_rounds
from harness.bench.scaling import measure_scaling
from harness.bench.stores import ALL_STORES, dispose_store, open_bench_store, opened_store
from harness.bench.targets import evaluate_targets
from harness.errors import ConfigError
from harness.results.provenance import current_commit, machine_info
from harness.store.handle import StoreHandle

FORMAT = 1
TOOL = "jobharness-bench"
Phase = Callable[[dict[str, Any], list[str], BenchPlan, Path], None]


def run_bench(
    stores: list[str],
    plan: BenchPlan,
    out: Path,
    *,
    skipped: dict[str, str] | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Run every phase of ``plan`` on ``stores``; return the bench.json content.

    Keys starting with ``_`` (``_errors``, ``_notes``, ``_skipped``) are for the report and the
    exit code; :func:`harness.bench.command.write_results` leaves them out of bench.json.
    """
    started = time.monotonic()
    bench = _new_bench(plan, skipped or {})
    with _work_folder(out) as work, _quiet_store_warnings():
        os.sync()  # start from a quiet disk: nothing of ours left to write back
        for name, phase in _phases(plan):
            phase_started = time.monotonic()
            try:
                phase(bench, stores, plan, work)
            except (KeyboardInterrupt, ConfigError):
                raise
            except Exception as error:  # one broken phase must not lose the others' figures
                bench["_errors"][name] = f"{type(error).__name__}: {error}"
            log(f"{name}: {time.monotonic() - phase_started:.1f} s")
    missing = {
        **bench["_skipped"],
        **{
            name: "not in --stores"
            for name in ALL_STORES
            if name not in stores and name not in bench["_skipped"]
        },
    }
    bench["targets"] = evaluate_targets(bench["figures"], missing)
    bench["duration_s"] = round(time.monotonic() - started, 1)
    bench["machine"]["loadavg_end"] = _loadavg()
    return bench


def _new_bench(plan: BenchPlan, skipped: dict[str, str]) -> dict[str, Any]:
    return {
        "tool": TOOL,
        "format": FORMAT,
        "quick": plan.quick,
        "commit": current_commit(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": 0.0,
        "machine": {**machine_info(), "loadavg_start": _loadavg()},
        "figures": {},
        "targets": [],
        "scaling": {},
        "directory_size": {},
        "breakdown": {},
        "recover": {},
        "_errors": {},
        "_notes": [],
        "_skipped": dict(skipped),
    }


def _phases(plan: BenchPlan) -> list[tuple[str, Phase]]:
    """The phases in order, each named as the progress lines and ``_errors`` name it."""
    latency: list[tuple[str, Phase]] = [
        (f"latency {payload}", _latency_phase_of(payload)) for payload in plan.payloads
    ]
    return [
        *latency,
        ("breakdown", _breakdown_phase),
        ("recover", _recover_phase),
        ("directory size", _directory_phase),
        ("scaling", _scaling_phase),
    ]


@contextlib.contextmanager
def _work_folder(out: Path) -> Iterator[Path]:
    """``out/.work-<random>``, removed at the end; an interrupted run leaves no empty ``out``."""
    created_out = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    work = out / f".work-{secrets.token_hex(4)}"
    work.mkdir()
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if created_out and not any(out.iterdir()):
            out.rmdir()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _quiet_store_warnings() -> Iterator[None]:
    """The damaged reads are repaired on purpose, thousands of times: their warnings are noise."""
    store_log = logging.getLogger("durable_jobs")
    saved_level = store_log.level
    store_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        store_log.setLevel(saved_level)


def _loadavg() -> list[float] | None:
    """The 1, 5, 15-minute load averages: a loaded machine is a noisy run (the gate may care)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


# ---------------------------------------------------------------------------- the phases


def _latency_phase_of(payload: str) -> Phase:
    return lambda bench, stores, plan, work: _latency_phase(bench, stores, plan, work, payload)


def _latency_phase(
    bench: dict[str, Any], stores: list[str], plan: BenchPlan, work: Path, payload: str
) -> None:
    folder = work / f"latency-{payload}"
    opened: dict[str, StoreHandle] = {}
    floors = None
    try:
        for name in stores:
            opened[name] = open_bench_store(name, folder / name)
        floors = floor_operations(folder / "floor", payload, payload_job("floor", payload))
        operations = floors.all()
        for name, handle in opened.items():
            operations += store_operations(name, handle.store, payload, payload_job(name, payload))
        operations = inject_regression(operations, opened)  # tests of the gate's power only
        # Writes and reads in separate rounds: a read timed right after an fsync (an idle CPU,
        # a busy journal) would carry the write's aftermath into the read's ratio.
        writes = [op for op in operations if op.op in WRITE_OPS]
        reads = [op for op in operations if op.op not in WRITE_OPS]
        for group, rounds in ((writes, plan.write_rounds), (reads, plan.read_rounds)):
            _measure(bench, group, rounds[payload], plan.warmup, plan.max_seconds[payload])
        _damaged_reads(bench, opened, plan, payload, floors.read)
        if "naive" in opened and payload == plan.payloads[0]:
            bench["_notes"].append(
                "get_damaged is not measured for naive: it has no backup, and "
                "get_job raises on a damaged file (the incident's HTTP 500s)"
            )
    finally:
        if floors is not None:
            floors.close()
        for handle in opened.values():
            dispose_store(handle)
        shutil.rmtree(folder, ignore_errors=True)


def _measure(
    bench: dict[str, Any],
    operations: list[TimedOperation],
    rounds: int,
    warmup: int,
    max_seconds: float = float("inf"),
    min_rounds: int = 5,
) -> None:
    """Time ``operations`` in rounds; put their figures and errors into ``bench``."""
    samples, errors = run_rounds(
        operations, rounds=rounds, warmup=warmup, max_seconds=max_seconds, min_rounds=min_rounds
    )
    # Only the figures of this group: a floor shared with another group is summarized there.
    bench["figures"].update(summarize_all(operations, samples))
    bench["_errors"].update(errors)


def _damaged_reads(
    bench: dict[str, Any],
    opened: dict[str, StoreHandle],
    plan: BenchPlan,
    payload: str,
    read_floor: TimedOperation,
) -> None:
    """``get_damaged`` of the stores with a backup, paired with the read floor in its rounds."""
    for name in (n for n in DAMAGED_STORES if n in opened):
        count = plan.damaged_samples[name].get(payload, 0)
        if not count:
            continue
        job = payload_job(f"{name}-damaged", payload)
        try:
            damaged = damaged_read_operation(name, opened[name], payload, job)
            [damaged] = inject_regression([damaged], opened)
        except MeasurementError as error:
            bench["_notes"].append(f"get_damaged is not measured for {error}")
            continue
        samples, errors = run_rounds(
            [read_floor, damaged],
            rounds=count,
            warmup=1 if count < 10 else 3,
            min_rounds=min(count, 5),
        )
        bench["figures"].update(summarize_all([damaged], samples))
        bench["_errors"].update(errors)


def _breakdown_phase(bench: dict[str, Any], stores: list[str], plan: BenchPlan, work: Path) -> None:
    for name in (n for n in BREAKDOWN_STORES if n in stores):
        with opened_store(name, work / f"breakdown-{name}") as handle:
            bench["breakdown"][name] = measure_breakdown(
                name, handle.store, rounds=plan.breakdown_rounds
            )


def _recover_phase(bench: dict[str, Any], stores: list[str], plan: BenchPlan, work: Path) -> None:
    for name in (n for n in RECOVER_STORES if n in stores):
        root = work / f"recover-{name}"
        with opened_store(name, root) as handle:
            jobs = jobs_for_recover(plan.recover_jobs)
            count = populate(name, handle.store, jobs, with_backup=True)
            record, failed = time_cold_recover(name, root, count)
        bench["recover"][name] = record
        expected = count // ABANDONED_EVERY
        if failed is not None and failed != expected:
            bench["_notes"].append(
                f"recover {name}: failed {failed} abandoned jobs, expected {expected}"
            )
        shutil.rmtree(root, ignore_errors=True)
    if "postgres" in stores:
        bench["_notes"].append(
            "recover postgres: the server's own buffers stay warm (only "
            "the file stores and SQLite start from an evicted page cache)"
        )


def _directory_phase(bench: dict[str, Any], stores: list[str], plan: BenchPlan, work: Path) -> None:
    names = [name for name in DIRECTORY_STORES if name in stores]
    folder = work / "directory"
    try:
        bench["directory_size"].update(
            measure_directory_sizes(
                names, folder, sizes=plan.directory_sizes, rounds=plan.directory_rounds
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _scaling_phase(bench: dict[str, Any], stores: list[str], plan: BenchPlan, work: Path) -> None:
    for shape in ("distinct", "same", "readers"):
        bench["scaling"].setdefault(shape, {})
    for name in stores:
        curves = measure_scaling(
            name,
            work / f"scaling-{name}",
            processes=plan.processes,
            readers=plan.readers,
            window_s=plan.window_s,
        )
        for shape, curve in curves.items():
            bench["scaling"][shape][name] = curve
            for entry in curve:
                bench["figures"][f"scaling.{shape}.{name}.{entry['processes']}"] = {
                    "value": entry["ops_per_s"],
                    "unit": "ops/s",
                    "p50_us": entry["p50_us"],
                    "p99_us": None,
                    "samples": round(entry["ops_per_s"] * plan.window_s),
                    "floor": None,
                    "ratio": None,
                    "store": name,
                    "op": f"scaling.{shape}",
                    "payload": "1k",
                }
        shutil.rmtree(work / f"scaling-{name}", ignore_errors=True)
