"""Throughput with 1-16 processes, readers alongside writers, latency as the directory grows.

Throughput tests run one fixed window each (``harness.bench.scaling.run_window``: real
processes, each opening the store itself) and put ops/s and p50 in ``extra_info``; the time
pytest-benchmark shows for them is the whole window with its start-up, not a latency. The
directory-size tests time the probe's save and get with the floor measured in that same folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.bench.floors import floor_durable_replace, floor_plain_read
from harness.bench.population import filler_jobs, populate
from harness.bench.rounds import TimedOperation
from harness.bench.scaling import READER_WRITERS, run_window, summarize_window
from harness.bench.stores import PAYLOAD_BYTES, make_bench_job

WINDOW_S = 0.5
PROCESSES = (1, 2, 4, 8, 16)
DIRECTORY_SIZES = (1, 1_000, 10_000)  # 100,000: `jobharness bench` (full)
DIRECTORY_ROUNDS = 100


@pytest.fixture
def skip_unreachable_postgres(postgres_reason: str | None, request: pytest.FixtureRequest) -> None:
    if request.node.callspec.params.get("store_name") == "postgres" and postgres_reason:
        pytest.skip(postgres_reason)


@pytest.mark.usefixtures("skip_unreachable_postgres")
@pytest.mark.parametrize("processes", PROCESSES)
@pytest.mark.parametrize("shape", ["distinct", "same"])
@pytest.mark.every_store  # every built-in store, or the one --jobharness-store names
def test_writers(
    benchmark: Any, test_folder: Path, store_name: str, shape: str, processes: int
) -> None:
    """N writer processes on distinct jobs, or all on one job."""
    benchmark.group = f"throughput {shape}"
    outcomes = benchmark.pedantic(
        run_window,
        args=(store_name, test_folder / "store"),
        kwargs={"writers": processes, "same_job": shape == "same", "window_s": WINDOW_S},
        rounds=1,
    )
    entry = summarize_window(outcomes, window_s=WINDOW_S, role="writer")
    benchmark.extra_info.update({"processes": processes, **entry})


@pytest.mark.usefixtures("skip_unreachable_postgres")
@pytest.mark.parametrize("readers", (1, 4, 16))
@pytest.mark.every_store  # every built-in store, or the one --jobharness-store names
def test_readers_alongside_writers(
    benchmark: Any, test_folder: Path, store_name: str, readers: int
) -> None:
    """N reader processes reading the jobs two writer processes keep saving."""
    benchmark.group = "throughput readers"
    outcomes = benchmark.pedantic(
        run_window,
        args=(store_name, test_folder / "store"),
        kwargs={"writers": READER_WRITERS, "readers": readers, "window_s": WINDOW_S},
        rounds=1,
    )
    read = summarize_window(outcomes, window_s=WINDOW_S, role="reader")
    write = summarize_window(outcomes, window_s=WINDOW_S, role="writer")
    benchmark.extra_info.update(
        {
            "processes": readers,
            **read,
            "write_ops_per_s": write["ops_per_s"],
            "write_errors": write["errors"],
        }
    )


@pytest.mark.parametrize("jobs", DIRECTORY_SIZES)
@pytest.mark.parametrize("op_name", ["save", "get"])
@pytest.mark.parametrize("store_name", ["naive", "phase470", "hardened", "sqlite"])
def test_directory_size(
    paired: Any, make_store: Any, store_name: str, op_name: str, jobs: int
) -> None:
    """A 1 KB probe job's save or get with ``jobs`` jobs in the directory (floor in it too)."""
    store = make_store(store_name, "store").store
    root = Path(store.root) if store_name != "sqlite" else Path(store.path).parent
    probe = make_bench_job("probe", PAYLOAD_BYTES["1k"])
    store.save_job("probe", probe)
    if jobs > 1:
        populate(store_name, store, filler_jobs(1, jobs), with_backup=False)
    body = json.dumps(probe).encode()
    floor_path = os.fspath(root / ".floor-probe.json")
    floor_durable_replace(root, floor_path, body)
    if op_name == "save":
        op = TimedOperation(
            "save", "save", store_name, "1k", "floor_write", lambda: store.save_job("probe", probe)
        )
        floor = TimedOperation(
            "floor_write",
            "floor_write",
            None,
            "1k",
            None,
            lambda: floor_durable_replace(root, floor_path, body),
        )
    else:
        op = TimedOperation(
            "get", "get", store_name, "1k", "floor_read", lambda: store.get_job("probe")
        )
        floor = TimedOperation(
            "floor_read", "floor_read", None, "1k", None, lambda: floor_plain_read(floor_path)
        )
    paired(op, floor, DIRECTORY_ROUNDS)
