"""Throughput with many processes: writers of distinct jobs, writers of one job, readers.

``N`` real processes (the ``multiprocess`` package, forked), each opening
the store itself with the built-in factory and the same root, as separate application processes
would. They open, warm up, say they are ready, and wait; the parent then fixes a window of
``window_s`` seconds on the machine's monotonic clock (shared by all processes) and lets them go.
Each counts the operations that *completed* inside the window and keeps their latencies; the
figure is the total count divided by the window. Three shapes:

* ``distinct``: N writers, each saving its own job;
* ``same``: N writers saving one job (serialised by the store's lock, or not, for phase 4.7.0's);
* ``readers``: N readers calling ``get_job`` on the jobs two writers keep saving.

Operations that raise (the incident's phase470 writers of one job share a temp file and trip over
each other's renames; naive readers see torn files) are counted as ``errors``, not as throughput.

>>> outcome = {"role": "writer", "count": 20, "errors": 0, "latencies": [0.001] * 20}
>>> entry = summarize_window([outcome], window_s=0.5, role="writer")
>>> entry["ops_per_s"], entry["p50_us"]
(40.0, 1000.0)
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.bench.stores import PAYLOAD_BYTES, dispose_store, make_bench_job, open_bench_store
from harness.stats import percentile

READY_TIMEOUT_S = 60.0
MAX_LATENCIES_PER_PROCESS = 20_000
WARM_OPERATIONS = 3
READER_WRITERS = 2


# ---------------------------------------------------------------------------- throughput


def run_window(
    store_name: str,
    root: Path,
    *,
    writers: int,
    readers: int = 0,
    same_job: bool = False,
    window_s: float = 1.0,
    payload_bytes: int = PAYLOAD_BYTES["1k"],
) -> list[dict[str, Any]]:
    """Run one throughput window; return per process ``{"role", "count", "errors", "latencies"}``.

    Every process is stopped and joined before this returns, even on Ctrl-C or an error.
    """
    import multiprocess

    context = multiprocess.get_context("fork")
    job_ids = ["shared"] if same_job else [f"w{index}" for index in range(writers)]
    plan = [("writer", job_ids[index % len(job_ids)]) for index in range(writers)]
    plan += [("reader", job_ids[index % len(job_ids)]) for index in range(readers)]
    go = context.Event()
    window = context.Array("d", 2, lock=False)
    results = context.Queue()
    processes: list[Any] = []
    handle = open_bench_store(store_name, root)
    try:
        for job_id in job_ids:  # readers must find the jobs from the first read on
            handle.store.save_job(job_id, make_bench_job(job_id, payload_bytes))
        handle.close()  # no connection crosses the fork; dispose_store reconnects to drop
        for role, job_id in plan:
            process = context.Process(
                target=_window_worker,
                args=(
                    store_name,
                    os.fspath(root),
                    role,
                    job_id,
                    payload_bytes,
                    go,
                    window,
                    results,
                ),
                daemon=True,
            )
            process.start()
            processes.append(process)
        _wait_ready(results, len(processes), processes)
        start = time.monotonic() + 0.02
        window[0], window[1] = start, start + window_s
        go.set()
        return _collect(results, len(processes), processes, deadline=start + window_s + 60)
    finally:
        _stop(processes)
        results.close()
        results.join_thread()
        dispose_store(handle)  # after the children: drops the PostgreSQL table they shared


def _window_worker(
    store_name: str,
    root: str,
    role: str,
    job_id: str,
    payload_bytes: int,
    go: Any,
    window: Any,
    results: Any,
) -> None:
    """One process of a throughput window (runs in the child; never raises to the parent)."""
    count = errors = 0
    latencies: list[float] = []
    try:
        store = open_bench_store(store_name, Path(root)).store
        job = make_bench_job(job_id, payload_bytes)
        call = (
            (lambda: store.save_job(job_id, job))
            if role == "writer"
            else (lambda: store.get_job(job_id))
        )
        for _ in range(WARM_OPERATIONS):
            with contextlib.suppress(Exception):
                call()
        results.put(("ready", os.getpid(), None))
        if not go.wait(READY_TIMEOUT_S):
            return
        start, end = window[0], window[1]
        while True:
            began = time.monotonic()
            try:
                call()
                failed = False
            except Exception:
                failed = True
            finished = time.monotonic()
            if finished > end:
                break
            if began >= start:
                if failed:
                    errors += 1
                else:
                    count += 1
                    if len(latencies) < MAX_LATENCIES_PER_PROCESS:
                        latencies.append(finished - began)
        results.put(
            (
                "done",
                os.getpid(),
                {"role": role, "count": count, "errors": errors, "latencies": latencies},
            )
        )
    except KeyboardInterrupt:
        return
    except Exception as error:
        results.put(("failed", os.getpid(), f"{type(error).__name__}: {error}"))


def _wait_ready(results: Any, expected: int, processes: Sequence[Any]) -> None:
    ready = 0
    deadline = time.monotonic() + READY_TIMEOUT_S
    while ready < expected:
        kind, _, detail = _next_message(results, deadline, processes)
        if kind == "failed":
            raise RuntimeError(f"a benchmark process failed to start: {detail}")
        ready += kind == "ready"


def _collect(
    results: Any, expected: int, processes: Sequence[Any], deadline: float
) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = []
    while len(outcomes) < expected:
        kind, _, detail = _next_message(results, deadline, processes)
        if kind == "failed":
            raise RuntimeError(f"a benchmark process failed: {detail}")
        if kind == "done":
            outcomes.append(detail)
    return outcomes


def _next_message(results: Any, deadline: float, processes: Sequence[Any]) -> tuple[str, int, Any]:
    while True:
        try:
            return results.get(timeout=0.2)
        except queue.Empty:
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark processes did not answer in time") from None
            if all(not process.is_alive() for process in processes) and results.empty():
                raise RuntimeError("every benchmark process exited without reporting") from None


def _stop(processes: Sequence[Any]) -> None:
    """Terminate what is still running and reap everything (no zombies, no strays)."""
    for process in processes:
        if process.pid is not None and process.is_alive():
            process.terminate()
    for process in processes:
        if process.pid is not None:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)


def summarize_window(
    outcomes: Sequence[dict[str, Any]], *, window_s: float, role: str
) -> dict[str, Any]:
    """Throughput, median latency and errors of the processes of ``role`` in one window."""
    mine = [outcome for outcome in outcomes if outcome["role"] == role]
    count = sum(outcome["count"] for outcome in mine)
    latencies = [value for outcome in mine for value in outcome["latencies"]]
    p50 = percentile(latencies, 50) * 1e6 if latencies else None
    return {
        "ops_per_s": round(count / window_s, 1),
        "p50_us": None if p50 is None else round(p50, 1),
        "errors": sum(outcome["errors"] for outcome in mine),
    }


def measure_scaling(
    store_name: str,
    work: Path,
    *,
    processes: Sequence[int],
    readers: Sequence[int],
    window_s: float,
) -> dict[str, list[dict[str, Any]]]:
    """The three throughput curves of one store: ``distinct``, ``same`` and ``readers``."""
    curves: dict[str, list[dict[str, Any]]] = {"distinct": [], "same": [], "readers": []}
    for shape in ("distinct", "same"):
        for count in processes:
            root = work / f"{store_name}-{shape}-{count}"
            outcomes = run_window(
                store_name, root, writers=count, same_job=shape == "same", window_s=window_s
            )
            entry = {
                "processes": count,
                **summarize_window(outcomes, window_s=window_s, role="writer"),
            }
            curves[shape].append(entry)
    for count in readers:
        root = work / f"{store_name}-readers-{count}"
        outcomes = run_window(
            store_name, root, writers=READER_WRITERS, readers=count, window_s=window_s
        )
        read = summarize_window(outcomes, window_s=window_s, role="reader")
        write = summarize_window(outcomes, window_s=window_s, role="writer")
        curves["readers"].append(
            {
                "processes": count,
                "writers": READER_WRITERS,
                **read,
                "write_ops_per_s": write["ops_per_s"],
                "write_p50_us": write["p50_us"],
                "write_errors": write["errors"],
            }
        )
    return curves
