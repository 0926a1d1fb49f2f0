"""Where a save spends its time (instrumented copies of the save paths), and a cold recover().

``extra_info`` of a breakdown test holds the median of every step in microseconds; the copies
are ``harness.bench_breakdown.hardened_save_steps`` / ``phase470_save_steps``, which mirror the
stores' code step by step.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from harness.bench_breakdown import STEP_FUNCTIONS
from harness.bench_population import jobs_for_recover, make_cold, populate
from harness.bench_stores import PAYLOAD_BYTES, dispose_store, make_bench_job, open_bench_store

BREAKDOWN_ROUNDS = 200
RECOVER_JOBS = 10_000


@pytest.mark.parametrize("store_name", ["hardened", "phase470"])
def test_save_breakdown(benchmark: Any, make_store: Any, store_name: str) -> None:
    """One save, step by step: lock, read, encode, write, fsync, renames, directory fsync."""
    store = make_store(store_name, "store")
    job = make_bench_job("breakdown", PAYLOAD_BYTES["1k"])
    store.save_job("breakdown", job)
    steps_of = STEP_FUNCTIONS[store_name]
    root = str(Path(store.root).absolute())
    recorded: list[dict[str, float]] = []
    benchmark.group = "save breakdown 1k"
    benchmark.pedantic(
        lambda: recorded.append(steps_of(root, "breakdown", job)),
        rounds=BREAKDOWN_ROUNDS,
        warmup_rounds=5,
    )
    measured = recorded[-BREAKDOWN_ROUNDS:]
    benchmark.extra_info.update(
        {key: round(statistics.median(s[key] for s in measured) * 1e6, 1) for key in measured[0]}
    )
    assert store.get_job("breakdown") == job  # the copy leaves what the store would


@pytest.mark.parametrize("store_name", ["hardened", "sqlite", "postgres"])
def test_cold_recover(benchmark: Any, make_store: Any, store_name: str) -> None:
    """recover() of a fresh store over 10,000 jobs (1% abandoned) after evicting their pages."""
    store = make_store(store_name, "store")
    count = populate(store_name, store, jobs_for_recover(RECOVER_JOBS), with_backup=True)
    root = Path(store.path).parent if store_name == "sqlite" else Path(getattr(store, "root", "."))

    def fresh_store() -> tuple[tuple[Any], dict[str, Any]]:
        if store_name != "postgres":
            make_cold(store_name, root)
            return (open_bench_store(store_name, root),), {}
        return (store,), {}  # the server's buffers stay warm; its table is this one

    benchmark.group = "cold recover"
    opened: list[Any] = []

    def recover(target: Any) -> Any:
        opened.append(target)
        return target.recover()

    benchmark.pedantic(recover, setup=fresh_store, rounds=1)
    for extra in opened:
        if extra is not store:
            dispose_store(extra)
    stats = getattr(benchmark, "stats", None)
    if stats and stats.stats.data:
        seconds = stats.stats.data[0]
        benchmark.extra_info.update(
            {
                "jobs": count,
                "seconds": round(seconds, 4),
                "per_job_us": round(seconds / count * 1e6, 1),
            }
        )
