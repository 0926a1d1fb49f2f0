"""Where a save spends its time (the marks of the real save path), and a cold recover().

``extra_info`` of a breakdown test holds the median of every step in microseconds, recorded
around the store's own ``save_job`` by ``harness.bench.breakdown.recorded_save`` (the save path
marks its steps with ``durable_jobs.steps.mark``).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from harness.bench.breakdown import recorded_save
from harness.bench.population import jobs_for_recover, make_cold, populate
from harness.bench.stores import PAYLOAD_BYTES, make_bench_job, open_bench_store

BREAKDOWN_ROUNDS = 200
RECOVER_JOBS = 10_000


@pytest.mark.parametrize("store_name", ["hardened", "phase470"])
def test_save_breakdown(benchmark: Any, make_store: Any, store_name: str) -> None:
    """One save, step by step: lock, read, encode, write, fsync, renames, directory fsync."""
    store = make_store(store_name, "store").store
    job = make_bench_job("breakdown", PAYLOAD_BYTES["1k"])
    store.save_job("breakdown", job)
    recorded: list[dict[str, float]] = []
    benchmark.group = "save breakdown 1k"
    benchmark.pedantic(
        lambda: recorded.append(recorded_save(store, "breakdown", job)),
        rounds=BREAKDOWN_ROUNDS,
        warmup_rounds=5,
    )
    measured = recorded[-BREAKDOWN_ROUNDS:]
    benchmark.extra_info.update(
        {key: round(statistics.median(s[key] for s in measured) * 1e6, 1) for key in measured[0]}
    )
    assert store.get_job("breakdown") == job


@pytest.mark.parametrize("store_name", ["hardened", "sqlite", "postgres"])
def test_cold_recover(benchmark: Any, make_store: Any, store_name: str) -> None:
    """recover() of a fresh store over 10,000 jobs (1% abandoned) after evicting their pages."""
    store = make_store(store_name, "store").store
    count = populate(store_name, store, jobs_for_recover(RECOVER_JOBS), with_backup=True)
    root = Path(store.path).parent if store_name == "sqlite" else Path(getattr(store, "root", "."))

    def fresh_store() -> tuple[tuple[Any], dict[str, Any]]:
        if store_name != "postgres":
            make_cold(store_name, root)
            return (open_bench_store(store_name, root).store,), {}
        return (store,), {}  # the server's buffers stay warm; its table is this one

    benchmark.group = "cold recover"
    opened: list[Any] = []

    def recover(target: Any) -> Any:
        opened.append(target)
        return target.recover()

    benchmark.pedantic(recover, setup=fresh_store, rounds=1)
    for extra in opened:
        if extra is not store and callable(getattr(extra, "close", None)):
            extra.close()  # a file store or SQLite: nothing outside its folder to drop
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
