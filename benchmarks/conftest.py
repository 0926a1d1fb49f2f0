"""pytest-benchmark glue: the work folder, the stores, and the floor paired with each figure.

Run it directly (it is not part of ``make test``)::

    .venv/bin/pytest benchmarks/                               # everything, a few minutes
    .venv/bin/pytest benchmarks/test_latency.py -k "hardened and 1k"
    .venv/bin/pytest benchmarks/ --benchmark-json=out.json     # pytest-benchmark's own JSON
    .venv/bin/pytest benchmarks/ --jobharness-store my_app/jobs.py:make_store   # your store

The measuring code is the harness's (``harness/bench/``), shared with ``jobharness bench``;
this file only adapts it to the ``benchmark`` fixture. Each latency test times its store
operation with pytest-benchmark and, in the same rounds, the floor it is compared with: the
floor runs untimed-by-pytest in ``setup`` on even rounds and in ``teardown`` on odd ones, timed
by us, so store and floor samples are interleaved and paired round by round. The ratio and the
floor's figures land in ``benchmark.extra_info`` (and so in ``--benchmark-json``).

PostgreSQL tests are skipped, with the reason, when no server answers
(``$JOBHARNESS_POSTGRES_URL``, default the local server).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.bench.figures import summarize
from harness.bench.rounds import TimedOperation
from harness.bench.stores import (
    ALL_STORES,
    add_custom_store,
    dispose_store,
    open_bench_store,
    postgres_unreachable_reason,
)

REPOSITORY = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """``--jobharness-store SPEC`` here means: benchmark that store (not: verify it)."""
    config.addinivalue_line("markers", "every_store: run for each store benchmarked")
    if config.getoption("jobharness_store", None):
        from harness.pytest_plugin import BENCH_SESSION

        config.stash[BENCH_SESSION] = True


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``every_store`` run for every built-in store, or for the one given."""
    if metafunc.definition.get_closest_marker("every_store") is None:
        return
    spec = metafunc.config.getoption("jobharness_store", None)
    metafunc.parametrize("store_name", [add_custom_store(spec)] if spec else list(ALL_STORES))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With a store of your own, the benchmarks of built-in stores only are skipped, said why."""
    spec = config.getoption("jobharness_store", None)
    if not spec:
        return
    label = add_custom_store(spec)
    reason = "this benchmark measures built-in stores only (run it without --jobharness-store)"
    for item in items:
        callspec = getattr(item, "callspec", None)
        store = callspec.params.get("store_name") if callspec else None
        if store is not None and store != label:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def bench_work() -> Iterator[Path]:
    """A folder on the repository's filesystem (so floors and stores share the disk)."""
    folder = Path(tempfile.mkdtemp(prefix=".bench-work-", dir=REPOSITORY))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_reason() -> str | None:
    """Why PostgreSQL cannot be benchmarked, or None when it can."""
    return postgres_unreachable_reason()


@pytest.fixture
def make_store(
    bench_work: Path, postgres_reason: str | None, request: pytest.FixtureRequest
) -> Iterator[Callable[[str, str], Any]]:
    """``make_store(name, folder)``: a fresh store's handle; PostgreSQL skips when unreachable."""
    opened: list[Any] = []

    def make(name: str, folder: str) -> Any:
        if name == "postgres" and postgres_reason:
            pytest.skip(postgres_reason)
        store = open_bench_store(name, bench_work / _safe(request.node.name) / folder)
        opened.append(store)
        return store

    yield make
    for store in opened:
        dispose_store(store)


@pytest.fixture
def test_folder(bench_work: Path, request: pytest.FixtureRequest) -> Path:
    """This test's own folder in the work folder."""
    folder = bench_work / _safe(request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def paired(benchmark: Any) -> Callable[[TimedOperation, TimedOperation | None, int], None]:
    """``paired(op, floor, rounds)``: benchmark ``op`` with its floor interleaved (see below)."""
    return lambda op, floor, rounds: run_paired(benchmark, op, floor, rounds)


def run_paired(
    benchmark: Any, op: TimedOperation, floor: TimedOperation | None, rounds: int
) -> None:
    """Benchmark ``op`` with pytest-benchmark, its ``floor`` interleaved; record the figure.

    ``benchmark.extra_info`` gets the bench.json record of the figure (p50, p99 in us, and the
    ``ratio``: median over rounds of op sample / floor sample of the same round), plus the
    floor's own p50.
    """
    floor_samples: list[float] = []
    round_numbers = itertools.count()
    floor_after = [False]

    def time_floor() -> None:
        assert floor is not None
        started = time.perf_counter()
        floor.call()
        floor_samples.append(time.perf_counter() - started)

    def setup() -> None:
        floor_after[0] = next(round_numbers) % 2 == 1  # alternate: floor before, then after
        if floor is not None and not floor_after[0]:
            time_floor()
        if op.prepare is not None:
            op.prepare()

    def teardown() -> None:
        if floor is not None and floor_after[0]:
            time_floor()

    benchmark.group = f"{op.op} {op.payload}"
    benchmark.pedantic(
        op.call, setup=setup, teardown=teardown, rounds=rounds, warmup_rounds=min(3, rounds)
    )
    stats = getattr(benchmark, "stats", None)
    values = list(stats.stats.data) if stats else []  # empty under --benchmark-disable
    if not values:
        return
    floors = floor_samples[-len(values) :] if floor is not None else None
    record = summarize(op, values, floors)
    if floors:
        record["floor_p50_us"] = summarize(floor, floors, None)["p50_us"]  # type: ignore[arg-type]
    benchmark.extra_info.update(record)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80]
