"""The benchmark machinery: bench.json schema, targets on literal figures, the save breakdown.

No timing assertions here: speed targets live in the bench report, not in tests. The tiny run
measures a handful of samples only to check the shape of what is written.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.bench.breakdown import (
    HARDENED_STEPS,
    PHASE470_STEPS,
    measure_breakdown,
    recorded_save,
)
from harness.bench.command import check_postgres, write_results
from harness.bench.figures import paired_median_ratio, summarize, summarize_all
from harness.bench.floors import MinimalReplace
from harness.bench.operations import damaged_read_operation, payload_job
from harness.bench.plan import BenchPlan
from harness.bench.rendering import format_table, render_bench_markdown, trend_figures
from harness.bench.rounds import MeasurementError, TimedOperation, run_rounds, shuffled
from harness.bench.run import run_bench
from harness.bench.scaling import run_window, summarize_window
from harness.bench.stores import make_bench_job, open_bench_store, opened_store, parse_store_list
from harness.bench.targets import TARGETS, evaluate_target, evaluate_targets
from harness.errors import ConfigError
from harness.store.handle import StoreHandle
from harness.store.spec import parse_store_spec

ROOT = Path(__file__).resolve().parent.parent
FIGURE_ID = re.compile(
    r"(save|get|update|get_damaged)\.[a-z0-9]+\.(1k|64k|1m)"
    r"|floor_(write|write_minimal|read)\.(1k|64k|1m)"
)
FIGURE_KEYS = {
    "value",
    "unit",
    "p50_us",
    "p99_us",
    "samples",
    "floor",
    "ratio",
    "store",
    "op",
    "payload",
}
TINY = BenchPlan(
    quick=True,
    payloads=("1k",),
    write_rounds={"1k": 6},
    read_rounds={"1k": 10},
    max_seconds={"1k": 10.0},
    warmup=1,
    damaged_samples={"hardened": {"1k": 5}, "phase470": {"1k": 1}},
    breakdown_rounds=6,
    recover_jobs=200,
    directory_sizes=(1, 30),
    directory_rounds=5,
    processes=(1, 2),
    readers=(1,),
    window_s=0.1,
)


def figure(p50: float, ratio: float | None = None, p99: float | None = None) -> dict[str, Any]:
    return {"p50_us": p50, "p99_us": p99 if p99 is not None else p50 * 2, "ratio": ratio}


# ---------------------------------------------------------------------------- targets


def test_a_target_under_its_limit_is_met_with_the_margin_in_words() -> None:
    result = evaluate_target(TARGETS[0], {"save.hardened.1k": figure(500.0, ratio=1.08)})
    assert (result["passed"], result["value"], result["margin"]) == (True, 1.08, "0.07 under")


def test_a_missed_target_says_by_how_much() -> None:
    result = evaluate_target(TARGETS[1], {"get.hardened.1k": figure(50.0, ratio=2.5)})
    assert result["passed"] is False
    assert result["margin"] == "0.50 over (25% over the limit)"


def test_the_damaged_read_target_is_strict_and_in_microseconds() -> None:
    t3 = next(t for t in TARGETS if t.id == "T3")
    at_limit = evaluate_target(t3, {"get_damaged.hardened.1k": figure(900.0, p99=5000.0)})
    below = evaluate_target(t3, {"get_damaged.hardened.1k": figure(900.0, p99=1200.0)})
    assert at_limit["passed"] is False and below["passed"] is True
    assert below["margin"] == "3800 us under"


def test_update_is_judged_against_save_through_their_ratios() -> None:
    t4 = next(t for t in TARGETS if t.id == "T4")
    figures = {
        "save.hardened.1k": figure(1000.0, ratio=1.1),
        "update.hardened.1k": figure(1800.0, ratio=1.76),
    }
    result = evaluate_target(t4, figures)
    assert result["value"] == pytest.approx(1.6)
    assert result["passed"] is False


def test_a_target_whose_store_was_not_measured_is_neither_met_nor_missed() -> None:
    results = evaluate_targets({}, {"sqlite": "not in --stores"})
    t5 = next(r for r in results if r["id"] == "T5")
    assert t5["passed"] is None and t5["value"] is None
    assert "not in --stores" in t5["margin"]
    assert [r["id"] for r in results] == ["T1", "T2", "T3", "T4", "T5", "T6"]


def test_the_minimal_floor_target_judges_the_hardened_save_by_its_ratio_minimal() -> None:
    t6 = next(t for t in TARGETS if t.id == "T6")
    over = {"save.hardened.1k": {**figure(900.0, ratio=1.0), "ratio_minimal": 1.21}}
    under = {"save.hardened.1k": {**figure(900.0, ratio=1.0), "ratio_minimal": 1.08}}
    assert evaluate_target(t6, over)["passed"] is False
    assert evaluate_target(t6, under)["passed"] is True
    assert evaluate_target(t6, {"save.hardened.1k": figure(900.0, ratio=1.0)})["passed"] is None


# ---------------------------------------------------------------------------- measuring


def test_the_ratio_is_the_median_of_per_round_quotients() -> None:
    # A burst slows both samples of round 3: its quotient stays ordinary, the median ignores it.
    assert paired_median_ratio([11, 22, 300, 12], [10, 20, 250, 10]) == pytest.approx(1.15)
    assert paired_median_ratio([], []) is None


def test_rounds_rotate_the_order_and_a_failing_operation_is_dropped_and_reported() -> None:
    order: list[str] = []

    def boom() -> None:
        raise OSError("disk on fire")

    operations = [
        TimedOperation("a", "save", "s", "1k", None, lambda: order.append("a")),
        TimedOperation("b", "save", "s", "1k", None, lambda: order.append("b")),
        TimedOperation("c", "save", "s", "1k", None, boom),
    ]
    samples, errors = run_rounds(operations, rounds=4, warmup=0)
    assert errors == {"c": "OSError: disk on fire"}
    assert set(samples) == {"a", "b"} and len(samples["a"]) == len(samples["b"]) == 4
    assert order[:2] == ["a", "b"] and order[2:4] == ["b", "a"]  # round 1 starts one later


def test_a_figure_record_has_every_key_and_floors_have_no_ratio() -> None:
    floor = TimedOperation("floor_write.1k", "floor_write", None, "1k", None, lambda: None)
    save = TimedOperation(
        "save.hardened.1k", "save", "hardened", "1k", "floor_write.1k", lambda: None
    )
    floor_record = summarize(floor, [0.001, 0.002], None)
    save_record = summarize(save, [0.0011, 0.0022], [0.001, 0.002])
    assert set(floor_record) == set(save_record) == FIGURE_KEYS
    assert floor_record["ratio"] is None
    assert save_record["ratio"] == pytest.approx(1.1)
    assert save_record["value"] == save_record["p50_us"] == 1100.0


def test_measured_rounds_go_through_the_measure_hook_and_warmup_rounds_do_not() -> None:
    measured: list[str] = []

    def measure(op: TimedOperation) -> float:
        measured.append(op.figure)
        op.call()
        return 0.5

    calls: list[str] = []
    operations = [
        TimedOperation(name, name, None, "", None, lambda name=name: calls.append(name))
        for name in ("a", "b", "c")
    ]
    samples, errors = run_rounds(
        operations, rounds=4, warmup=2, order=shuffled(random.Random(7)), measure=measure
    )
    assert errors == {} and len(calls) == 18 and len(measured) == 12
    assert samples == {"a": [0.5] * 4, "b": [0.5] * 4, "c": [0.5] * 4}
    orders = [tuple(measured[i : i + 3]) for i in range(0, 12, 3)]
    assert all(sorted(order) == ["a", "b", "c"] for order in orders)  # each once per round


def test_a_passed_deadline_stops_the_rounds_after_the_minimum() -> None:
    ops = [TimedOperation("a", "a", None, "", None, lambda: None)]
    past = time.monotonic() - 1.0
    samples, _ = run_rounds(ops, rounds=50, warmup=1, deadline=past, min_rounds=0)
    assert samples == {"a": []}
    samples, _ = run_rounds(ops, rounds=50, warmup=1, deadline=past, min_rounds=3)
    assert len(samples["a"]) == 3


def test_a_write_is_also_paired_with_the_minimal_floor() -> None:
    save = TimedOperation(
        "save.x.1k",
        "save",
        "x",
        "1k",
        "floor_write.1k",
        lambda: None,
        also_against=(("ratio_minimal", "floor_write_minimal.1k"),),
    )
    samples = {
        "save.x.1k": [0.0012, 0.0024],
        "floor_write.1k": [0.001, 0.002],
        "floor_write_minimal.1k": [0.0010, 0.0020],
    }
    record = summarize_all([save], samples)["save.x.1k"]
    assert record["ratio"] == pytest.approx(1.2) and record["ratio_minimal"] == pytest.approx(1.2)


def test_the_minimal_floor_replaces_the_target_durably_through_one_fixed_temp(
    tmp_path: Path,
) -> None:
    target = tmp_path / "floor.json"
    (tmp_path / "floor.json.minimal.tmp").write_bytes(b"left over by a killed run")
    floor = MinimalReplace(tmp_path, os.fspath(target), b'{"id": "t0"}')
    try:
        floor.write()
        floor.write()
    finally:
        floor.close()
    assert target.read_bytes() == b'{"id": "t0"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["floor.json"]


def test_a_store_that_does_not_say_where_its_files_are_gets_no_damaged_read(
    tmp_path: Path,
) -> None:
    class NoPaths:
        def save_job(self, job_id: str, job: dict[str, Any]) -> None:
            pass

        def get_job(self, job_id: str) -> dict[str, Any] | None:
            return None

    handle = StoreHandle(NoPaths(), parse_store_spec("hardened"), tmp_path)
    with pytest.raises(MeasurementError, match="does not say where its job files are"):
        damaged_read_operation("nopaths", handle, "1k", payload_job("nopaths", "1k"))


# ---------------------------------------------------------------------------- breakdown


@pytest.mark.parametrize(
    ("store_name", "named_steps"), [("hardened", HARDENED_STEPS), ("phase470", PHASE470_STEPS)]
)
def test_the_recorded_steps_of_a_real_save_sum_to_its_total_and_each_step_appears(
    tmp_path: Path, store_name: str, named_steps: tuple[str, ...]
) -> None:
    handle = open_bench_store(store_name, tmp_path / store_name)
    store = handle.store
    store.save_job("j1", make_bench_job("j1", 1024, seed=1))  # a current version to back up
    second = make_bench_job("j1", 1024, seed=2)
    durations = recorded_save(store, "j1", second)
    assert set(durations) == {*named_steps, "total"}
    assert sum(v for k, v in durations.items() if k != "total") == pytest.approx(
        durations["total"], rel=1e-9
    )
    assert all(value >= 0 for value in durations.values())
    assert store.get_job("j1") == second  # the real save, with its effect
    handle.close()


@pytest.mark.parametrize("store_name", ["hardened", "phase470"])
def test_the_breakdown_has_every_step_and_the_total(tmp_path: Path, store_name: str) -> None:
    with opened_store(store_name, tmp_path / store_name) as handle:
        steps = measure_breakdown(store_name, handle.store, rounds=15, warmup=2)
    names = HARDENED_STEPS if store_name == "hardened" else PHASE470_STEPS
    assert list(steps) == [f"{step}_us" for step in (*names, "total")]
    parts = sum(value for key, value in steps.items() if key != "total_us")
    assert 0.6 * steps["total_us"] <= parts <= 1.4 * steps["total_us"]


def test_nobody_recording_means_a_save_leaves_no_marks_behind(tmp_path: Path) -> None:
    from durable_jobs import steps

    with opened_store("hardened", tmp_path / "jobs") as handle:
        handle.store.save_job("j1", make_bench_job("j1", 1024))
        with steps.recording() as record:
            pass
        handle.store.save_job("j1", make_bench_job("j1", 1024, seed=3))
    assert record.marks == []


# ---------------------------------------------------------------------------- scaling


def test_a_throughput_window_reports_every_process_and_leaves_none_behind(tmp_path: Path) -> None:
    import multiprocess

    outcomes = run_window("hardened", tmp_path / "jobs", writers=2, readers=1, window_s=0.1)
    assert sorted(o["role"] for o in outcomes) == ["reader", "writer", "writer"]
    assert summarize_window(outcomes, window_s=0.1, role="writer")["ops_per_s"] > 0
    assert multiprocess.active_children() == []


# ---------------------------------------------------------------------------- the whole run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One tiny run (a few samples of everything but postgres), shared by the tests below."""
    folder = tmp_path_factory.mktemp("tiny")
    out = folder / "bench"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOBHARNESS_TREND", str(folder / "trend.jsonl"))
        bench = run_bench(
            ["naive", "phase470", "hardened", "sqlite"], TINY, out, skipped={"postgres": "test"}
        )
        write_results(bench, out)
    return bench, out


def test_a_tiny_run_writes_bench_json_in_the_documented_format(
    tiny_run: tuple[dict[str, Any], Path],
) -> None:
    bench, out = tiny_run
    data = json.loads((out / "bench.json").read_text())
    assert not [key for key in data if key.startswith("_")]
    assert data["tool"] == "jobharness-bench" and data["format"] == 1 and data["quick"] is True
    assert {
        "commit",
        "started",
        "duration_s",
        "machine",
        "figures",
        "targets",
        "scaling",
        "directory_size",
        "breakdown",
        "recover",
    } <= set(data)
    latency = {k: v for k, v in data["figures"].items() if v["unit"] == "us"}
    for figure_id, record in latency.items():
        assert FIGURE_ID.fullmatch(figure_id), figure_id
        assert set(record) - {"ratio_minimal"} == FIGURE_KEYS
        assert ("ratio_minimal" in record) == (record["op"] in ("save", "update"))
        assert record["value"] == record["p50_us"]
        assert (record["ratio"] is None) == figure_id.startswith("floor_")
        if record["floor"]:
            assert record["floor"] in data["figures"]
    for op in ("save", "get", "update"):
        assert f"{op}.hardened.1k" in latency and f"{op}.sqlite.1k" in latency
    assert data["figures"]["get_damaged.hardened.1k"]["floor"] == "floor_read.1k"
    assert data["figures"]["save.naive.1k"]["floor"] == "floor_write.1k"
    assert data["figures"]["scaling.distinct.hardened.2"]["unit"] == "ops/s"
    assert [t["id"] for t in data["targets"]] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert {"id", "title", "figure", "metric", "limit", "value", "passed", "margin"} <= set(
        data["targets"][0]
    )
    assert list(data["breakdown"]["hardened"]) == [f"{s}_us" for s in (*HARDENED_STEPS, "total")]
    for store in ("naive", "phase470", "hardened", "sqlite"):
        for op in ("save", "update"):
            minimal = data["figures"][f"{op}.{store}.1k"]["ratio_minimal"]
            assert isinstance(minimal, float) and minimal > 0
    assert data["figures"]["floor_write_minimal.1k"]["ratio"] is None
    assert data["recover"]["hardened"]["jobs"] == 200
    assert set(data["recover"]["sqlite"]) == {"jobs", "seconds", "per_job_us"}
    assert [e["jobs"] for e in data["directory_size"]["hardened"]] == [1, 30]
    assert {"jobs", "save_p50_us", "get_p50_us", "save_ratio", "get_ratio"} <= set(
        data["directory_size"]["sqlite"][0]
    )
    assert [e["processes"] for e in data["scaling"]["distinct"]["naive"]] == [1, 2]
    assert {"processes", "ops_per_s", "p50_us"} <= set(data["scaling"]["same"]["hardened"][0])
    assert data["scaling"]["readers"]["hardened"][0]["processes"] == 1
    assert not list(out.glob(".work-*")), "the work folder must be removed"
    assert not bench["_errors"]


def test_a_tiny_run_appends_one_trend_line_and_renders(
    tiny_run: tuple[dict[str, Any], Path],
) -> None:
    bench, out = tiny_run
    lines = (out.parent / "trend.jsonl").read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["kind"] == "bench" and entry["dir"] == str(out)
    assert "save.hardened.1k.ratio" in entry["figures"]
    assert entry["figures"] == pytest.approx(
        trend_figures(json.loads((out / "bench.json").read_text()))
    )
    markdown = (out / "bench.md").read_text()
    assert "## Targets" in markdown and "save.hardened.1k" in markdown
    assert "skipped postgres: test" in markdown
    assert "hardened" in format_table(bench)


def test_the_markdown_says_by_how_much_a_target_was_missed() -> None:
    bench = {
        "targets": evaluate_targets({"save.hardened.1k": figure(900.0, ratio=1.38)}),
        "figures": {},
    }
    assert "**MISSED** | 0.23 over (20% over the limit)" in render_bench_markdown(bench)


def test_an_interrupted_run_leaves_no_work_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.bench.run as bench_module

    def interrupted(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_module, "_breakdown_phase", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_bench(["hardened"], TINY, tmp_path / "bench")
    assert not (tmp_path / "bench").exists()


# ---------------------------------------------------------------------------- arguments


def test_store_lists_are_parsed_in_canonical_order() -> None:
    assert parse_store_list("sqlite, hardened,hardened") == ["hardened", "sqlite"]
    assert parse_store_list(None) == ["naive", "phase470", "hardened", "sqlite", "postgres"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("mongodb", "'mongodb' is not a built-in store"), (" , ", "names no store")],
)
def test_a_bad_store_list_is_a_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_store_list(text)


def test_an_unreachable_postgres_is_skipped_by_default_and_an_error_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBHARNESS_POSTGRES_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert "not reachable" in check_postgres(["hardened", "postgres"], explicit=False)["postgres"]
    with pytest.raises(ConfigError, match="leave postgres out of --stores"):
        check_postgres(["postgres"], explicit=True)


def test_the_cli_rejects_a_bad_store_list_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "bench",
            "--quick",
            "--stores",
            "mongodb",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "mongodb" in result.stderr
    assert not (tmp_path / "bench.json").exists()


# ---------------------------------------------------------------------------- the package


def test_each_bench_module_imports_only_those_below_it_in_the_package_table() -> None:
    """harness/bench/__init__.py lists its modules top-down; the imports must flow that way."""
    import ast

    import harness.bench

    package = ROOT / "harness" / "bench"
    table = re.findall(r"^``(\w+)``", harness.bench.__doc__ or "", re.MULTILINE)
    assert sorted(table) == sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    for position, name in enumerate(table):
        tree = ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        imported = {
            node.module.removeprefix("harness.bench.")
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("harness.bench.")
        }
        above = set(table[: position + 1])
        assert not imported & above, f"harness.bench.{name} imports {sorted(imported & above)}"


@pytest.mark.parametrize(
    "module",
    (
        "rounds",
        "figures",
        "operations",
        "floors",
        "targets",
        "rendering",
        "plan",
        "breakdown",
        "stores",
        "directory",
        "scaling",
        "population",
    ),
)
def test_the_examples_in_the_bench_docstrings_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"harness.bench.{module}"))
    assert result.attempted > 0 and result.failed == 0


def test_a_store_of_your_own_is_benchmarked_under_its_file_name(tmp_path: Path) -> None:
    """``jobharness bench --store file.py:factory``: its figures beside the floors."""
    from harness.bench.stores import add_custom_store

    spec_file = tmp_path / "my_jobs.py"
    spec_file.write_text(
        "from durable_jobs.sqlite_store import SqliteJobStore\n\n"
        "def make_store(root):\n"
        "    return SqliteJobStore(root / 'jobs.db')\n"
    )
    label = add_custom_store(f"{spec_file}:make_store")
    assert label == "my_jobs"
    assert add_custom_store("hardened") == "hardened"
    bench = run_bench([label], TINY, tmp_path / "bench", skipped={})
    assert not bench["_errors"], bench["_errors"]
    figures = bench["figures"]
    assert figures["save.my_jobs.1k"]["ratio"] > 0 and "floor_write.1k" in figures
    assert "my_jobs" in format_table(bench)


def test_a_store_spec_that_does_not_import_is_one_line_exit_2(tmp_path: Path) -> None:
    from harness.cli import main

    missing = tmp_path / "missing.py"
    assert main(["bench", "--store", f"{missing}:make", "--out", str(tmp_path / "b")]) == 2


def test_pytest_benchmarks_measures_a_store_given_with_jobharness_store(tmp_path: Path) -> None:
    """``pytest benchmarks/ --jobharness-store SPEC``: that store's benchmarks, not a verify."""
    import subprocess
    import sys

    spec_file = tmp_path / "their_jobs.py"
    spec_file.write_text(
        "from durable_jobs.file_store import FileJobStore\n\n"
        "def make_store(root):\n"
        "    return FileJobStore(root)\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
         str(root / "benchmarks" / "test_latency.py"), "-k", "1k and not damaged",
         "--benchmark-disable", "--jobharness-store", f"{spec_file}:make_store"],
        cwd=root, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "6 passed" in done.stdout, done.stdout[-2000:]  # 3 floors, save/get/update of theirs
    assert "jobharness::" not in done.stdout  # no criterion items in a benchmark session
