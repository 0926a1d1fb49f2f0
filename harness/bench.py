"""``jobharness bench``: the benchmark suite, its results (bench.json, bench.md) and trend line.

    jobharness bench [--quick] [--out DIR] [--stores naive,phase470,hardened,sqlite,postgres]

Phases (each in its own module, shared with the pytest-benchmark suite in ``benchmarks/``):

1. **latency** (:mod:`harness.bench_latency`): per payload (1k, 64k, 1m; quick: 1k, 64k), every
   store's ``save``/``get``/``update`` and both floors, in interleaved rotated rounds; then
   ``get_damaged`` for the stores with job files (hardened, phase470) with their read floor;
2. **breakdown** (:mod:`harness.bench_breakdown`): where a hardened / phase470 save spends its time;
3. **recover** (:mod:`harness.bench_population`): a cold ``recover()`` over 10,000 jobs
   (quick: 2,000);
4. **directory size** (:mod:`harness.bench_scaling`): probe latency with 1 .. 100,000 jobs;
5. **scaling** (:mod:`harness.bench_scaling`): 1-16 processes (quick: 1-4) on distinct jobs,
   on one job, and readers alongside writers, counted in fixed windows;
6. targets (:mod:`harness.bench_targets`), bench.json, bench.md (:mod:`harness.bench_report`),
   one line appended to the run history (:func:`harness.results.trend.append_run`).

Everything runs in ``DIR/.work-<random>`` (the same filesystem as the results, so floors and
stores share a disk), removed at the end, on errors and on Ctrl-C, with every process stopped
and every PostgreSQL table dropped. The exit code is 0 when the run measured what it should,
missed targets included (targets inform, the gate enforces), 1 when a measurement failed, and
2 for bad arguments (:class:`harness.errors.ConfigError`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.bench_latency import (
    damaged_read_operation,
    floor_operations,
    payload_job,
    run_rounds,
    store_operations,
    summarize_all,
)
from harness.bench_stores import (
    ALL_STORES,
    dispose_store,
    open_bench_store,
    opened_store,
    parse_store_list,
    postgres_unreachable_reason,
)
from harness.errors import ConfigError
from harness.results.provenance import current_commit, machine_info

FORMAT = 1
TOOL = "jobharness-bench"


@dataclass(frozen=True)
class BenchPlan:
    """How much of everything to measure. :data:`FULL` and :data:`QUICK` are the two profiles."""

    quick: bool
    payloads: tuple[str, ...]
    write_rounds: dict[str, int]  # latency rounds of save/update + floor_write, per payload
    read_rounds: dict[str, int]  # latency rounds of get + floor_read, per payload
    max_seconds: dict[str, float]  # a cap per latency loop, so a slow disk cannot stall the run
    warmup: int
    damaged_samples: dict[str, dict[str, int]]  # store -> payload -> samples
    breakdown_rounds: int
    recover_jobs: int
    directory_sizes: tuple[int, ...]
    directory_rounds: int
    processes: tuple[int, ...]
    readers: tuple[int, ...]
    window_s: float


FULL = BenchPlan(
    quick=False,
    payloads=("1k", "64k", "1m"),
    write_rounds={"1k": 800, "64k": 300, "1m": 40},
    read_rounds={"1k": 10000, "64k": 1500, "1m": 200},
    max_seconds={"1k": 60.0, "64k": 60.0, "1m": 60.0},
    warmup=5,
    damaged_samples={
        "hardened": {"1k": 1000, "64k": 100, "1m": 20},
        "phase470": {"1k": 10, "64k": 5, "1m": 5},
    },
    breakdown_rounds=400,
    recover_jobs=10_000,
    directory_sizes=(1, 10, 100, 1_000, 10_000, 100_000),
    directory_rounds=150,
    processes=(1, 2, 4, 8, 16),
    readers=(1, 2, 4, 8, 16),
    window_s=1.0,
)
QUICK = BenchPlan(
    quick=True,
    payloads=("1k", "64k"),
    write_rounds={"1k": 300, "64k": 150},
    read_rounds={"1k": 3000, "64k": 600},
    max_seconds={"1k": 10.0, "64k": 6.0},
    warmup=3,
    damaged_samples={"hardened": {"1k": 300, "64k": 40}, "phase470": {"1k": 5, "64k": 3}},
    breakdown_rounds=150,
    recover_jobs=2_000,
    directory_sizes=(1, 1_000, 10_000),
    directory_rounds=40,
    processes=(1, 2, 4),
    readers=(1, 4),
    window_s=0.25,
)
DAMAGED_STORES = ("hardened", "phase470")  # stores with job files and a backup to recover from
RECOVER_STORES = ("hardened", "sqlite", "postgres")  # the stores that have recover()
DIRECTORY_STORES = ("naive", "phase470", "hardened", "sqlite")
WRITE_OPS = ("floor_write", "save", "update")


# ---------------------------------------------------------------------------- the command


def run_bench_command(args: argparse.Namespace) -> int:
    """``jobharness bench``: run the suite, print the table, write DIR/bench.json and bench.md."""
    from harness.bench_report import format_table

    stores = parse_store_list(getattr(args, "stores", None))
    quick = bool(getattr(args, "quick", False))
    out = getattr(args, "out", None) or Path("reports") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder; give a folder for the results")
    skipped = check_postgres(stores, explicit=getattr(args, "stores", None) is not None)
    stores = [name for name in stores if name not in skipped]
    print(
        f"jobharness bench{' --quick' if quick else ''}: stores {', '.join(stores)}"
        + "".join(f"\n  skipped {name}: {why}" for name, why in skipped.items()),
        flush=True,
    )
    bench = run_bench(stores, QUICK if quick else FULL, out, skipped=skipped, log=_print_phase)
    write_results(bench, out)
    print()
    print(format_table(bench))
    print(f"\nresults: {out / 'bench.md'} (data: {out / 'bench.json'})")
    failures = bench_failures(bench)
    for failure in failures:
        print(f"measurement failed: {failure}")
    return 1 if failures else 0


def check_postgres(stores: list[str], *, explicit: bool) -> dict[str, str]:
    """Skip PostgreSQL when no server answers: quietly by default, an error if asked for by name."""
    if "postgres" not in stores:
        return {}
    reason = postgres_unreachable_reason()
    if reason is None:
        return {}
    if explicit:
        raise ConfigError(
            f"{reason}; start the server, set JOBHARNESS_POSTGRES_URL, "
            "or leave postgres out of --stores"
        )
    return {"postgres": reason}


def write_results(bench: dict[str, Any], out: Path) -> None:
    """Write bench.json and bench.md, and append the run to the trend history."""
    from harness.bench_report import render_bench_markdown, trend_figures
    from harness.results.trend import append_run

    out.mkdir(parents=True, exist_ok=True)
    public = {key: value for key, value in bench.items() if not key.startswith("_")}
    (out / "bench.json").write_text(json.dumps(public, indent=1, sort_keys=False) + "\n")
    (out / "bench.md").write_text(render_bench_markdown(bench))
    append_run(
        "bench",
        trend_figures(public),
        directory=out,
        commit=bench.get("commit"),
        machine=bench.get("machine"),
    )


def bench_failures(bench: dict[str, Any]) -> list[str]:
    """The measurements that failed (an error, not a missed target)."""
    return [f"{name}: {error}" for name, error in bench.get("_errors", {}).items()]


def _print_phase(message: str) -> None:
    print(f"  {message}", flush=True)


# ---------------------------------------------------------------------------- the run


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
    exit code; :func:`write_results` leaves them out of bench.json.
    """

    started = time.monotonic()
    bench: dict[str, Any] = {
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
        "_skipped": dict(skipped or {}),
        "_breakdown_real": {},
    }
    created_out = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    work = out / f".work-{secrets.token_hex(4)}"
    work.mkdir()
    store_log = logging.getLogger("durable_jobs")
    saved_level = store_log.level
    # The damaged reads are repaired on purpose, thousands of times: their warnings are noise.
    store_log.setLevel(logging.ERROR)
    try:
        os.sync()  # start from a quiet disk: nothing of ours left to write back
        phases: list[tuple[str, Callable[[], None]]] = [
            *(
                (f"latency {payload}", _bind(_latency_phase, bench, stores, plan, work, payload))
                for payload in plan.payloads
            ),
            ("breakdown", _bind(_breakdown_phase, bench, stores, plan, work)),
            ("recover", _bind(_recover_phase, bench, stores, plan, work)),
            ("directory size", _bind(_directory_phase, bench, stores, plan, work)),
            ("scaling", _bind(_scaling_phase, bench, stores, plan, work)),
        ]
        for name, phase in phases:
            phase_started = time.monotonic()
            try:
                phase()
            except (KeyboardInterrupt, ConfigError):
                raise
            except Exception as error:  # one broken phase must not lose the others' figures
                bench["_errors"][name] = f"{type(error).__name__}: {error}"
            log(f"{name}: {time.monotonic() - phase_started:.1f} s")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if created_out and not any(out.iterdir()):
            out.rmdir()  # an interrupted run leaves nothing behind, not even an empty folder
        raise
    finally:
        store_log.setLevel(saved_level)
        shutil.rmtree(work, ignore_errors=True)
    from harness.bench_targets import evaluate_targets

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


def _loadavg() -> list[float] | None:
    """The 1, 5, 15-minute load averages: a loaded machine is a noisy run (the gate may care)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _bind(function: Callable[..., None], *args: Any) -> Callable[[], None]:
    return lambda: function(*args)


def _latency_phase(
    bench: dict[str, Any], stores: list[str], plan: BenchPlan, work: Path, payload: str
) -> None:
    folder = work / f"latency-{payload}"
    opened: dict[str, Any] = {}
    try:
        for name in stores:
            opened[name] = open_bench_store(name, folder / name)
        floors = floor_operations(folder / "floor", payload, payload_job("floor", payload))
        operations = list(floors)
        for name, store in opened.items():
            operations += store_operations(name, store, payload, payload_job(name, payload))
        # Writes and reads in separate rounds: a read timed right after an fsync (an idle CPU,
        # a busy journal) would carry the write's aftermath into the read's ratio.
        writes = [op for op in operations if op.op in WRITE_OPS]
        reads = [op for op in operations if op.op not in WRITE_OPS]
        for group, rounds in ((writes, plan.write_rounds), (reads, plan.read_rounds)):
            samples, errors = run_rounds(
                group,
                rounds=rounds[payload],
                warmup=plan.warmup,
                max_seconds=plan.max_seconds[payload],
            )
            bench["figures"].update(summarize_all(group, samples))
            _record_errors(bench, errors)
        for name in (n for n in DAMAGED_STORES if n in opened):
            count = plan.damaged_samples[name].get(payload, 0)
            if count:
                damaged = damaged_read_operation(
                    name, opened[name], payload, payload_job(f"{name}-damaged", payload)
                )
                ops = [floors[1], damaged]  # paired with the read floor, in the same rounds
                samples, errors = run_rounds(
                    ops, rounds=count, warmup=1 if count < 10 else 3, min_rounds=min(count, 5)
                )
                figures = summarize_all([damaged], samples)
                bench["figures"].update(figures)
                _record_errors(bench, errors)
        if "naive" in opened and payload == plan.payloads[0]:
            bench["_notes"].append(
                "get_damaged is not measured for naive: it has no backup, and "
                "get_job raises on a damaged file (the incident's HTTP 500s)"
            )
    finally:
        for store in opened.values():
            dispose_store(store)
        shutil.rmtree(folder, ignore_errors=True)


def _breakdown_phase(bench: dict[str, Any], stores: list[str], plan: BenchPlan, work: Path) -> None:
    from harness.bench_breakdown import BREAKDOWN_STORES, measure_breakdown

    for name in (n for n in BREAKDOWN_STORES if n in stores):
        with opened_store(name, work / f"breakdown-{name}") as store:
            steps, real = measure_breakdown(name, store, rounds=plan.breakdown_rounds)
        bench["breakdown"][name] = steps
        bench["_breakdown_real"][name] = real


def _recover_phase(bench: dict[str, Any], stores: list[str], plan: BenchPlan, work: Path) -> None:
    from harness.bench_population import (
        ABANDONED_EVERY,
        jobs_for_recover,
        populate,
        time_cold_recover,
    )

    for name in (n for n in RECOVER_STORES if n in stores):
        root = work / f"recover-{name}"
        with opened_store(name, root) as store:
            count = populate(name, store, jobs_for_recover(plan.recover_jobs), with_backup=True)
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
    from harness.bench_directory import measure_directory_sizes

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
    from harness.bench_scaling import measure_scaling

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


def _record_errors(bench: dict[str, Any], errors: dict[str, str]) -> None:
    bench["_errors"].update(errors)
