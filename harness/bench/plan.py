"""How much of everything ``jobharness bench`` measures: the two profiles, :data:`FULL` and :data:`QUICK`.

A plan is plain data; :func:`harness.bench.run.run_bench` follows it phase by phase, and a test
can give it a tiny one (a few rounds of everything) to check the shape of what is written.

>>> QUICK.payloads, FULL.payloads
(('1k', '64k'), ('1k', '64k', '1m'))
"""

from __future__ import annotations

from dataclasses import dataclass


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
