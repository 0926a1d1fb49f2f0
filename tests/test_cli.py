"""The command line as a user runs it: exit codes, one-line errors, reports, analyze, Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHORT_SCENARIO = """
name = "short-writers"
description = "Two writers and a reader, briefly."
checkers = ["never_raises", "no_torn_read", "acknowledged_writes_survive", "no_litter", "latency"]

[workload]
jobs = 2
duration = {duration}

[[processes]]
role = "writer"
count = 2

[[processes]]
role = "reader"
count = 1
think_ms = 0.5
"""


def jobharness(
    *args: str, cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def short_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(SHORT_SCENARIO.format(duration=0.6))
    return path


def test_the_console_script_is_installed() -> None:
    assert shutil.which("jobharness", path=os.path.dirname(sys.executable)) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--store", "mongodb"], "not a built-in store"),
        (["verify", "--store", "nosuchpkg.jobs:make"], "cannot import 'nosuchpkg.jobs'"),
        (["verify", "--seed", "minus-one"], "expected a whole number"),
        (["frobnicate"], "invalid choice"),
        (
            ["run", "does-not-exist.toml"],
            "does-not-exist.toml: (file): expected an existing scenario file",
        ),
        (["analyze", "/nonexistent/run"], "not a folder"),
    ],
)
def test_usage_errors_exit_2_with_one_line_and_no_traceback(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = jobharness(*args, cwd=tmp_path)  # a refused run's report lands in ./reports
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_scenario_key_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[processes]]\nrole = 'writer'\ncount = 'many'\n")
    result = jobharness("run", str(path))
    assert result.returncode == 2
    assert (
        f"{path}: processes[0].count: expected an integer from 1 to 64, got 'many'" in result.stderr
    )


def test_run_against_the_hardened_store_passes_and_writes_the_report(
    tmp_path: Path, short_scenario: Path
) -> None:
    out = tmp_path / "run"
    result = jobharness(
        "run", str(short_scenario), "--store", "hardened", "--out", str(out), "--seed", "7"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "pass"
    assert report["store"] == "hardened"
    assert report["seed"] == 7
    for criterion in report["criteria"]:
        assert set(criterion) >= {"id", "title", "passed", "summary"}
        assert criterion["passed"] in (True, False, None)
    scenario = report["scenarios"][0]
    assert (out / scenario["history"]).exists()
    latency = next(c for c in scenario["checks"] if c["name"] == "latency")
    assert latency["figures"]["save"]["p50_ms"] > 0
    assert "# jobharness report" in (out / "report.md").read_text()


def test_run_against_the_naive_store_fails_and_prints_the_replay_command(tmp_path: Path) -> None:
    out = tmp_path / "run"
    scenario = ROOT / "scenarios" / "concurrent-updates.toml"
    result = jobharness("run", str(scenario), "--store", "naive", "--out", str(out), "--seed", "11")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"replay: jobharness run {scenario} --store naive --seed 11" in result.stdout
    report = json.loads((out / "report.json").read_text())
    failed = {c["id"] for c in report["criteria"] if c["passed"] is False}
    assert "C6" in failed


def test_analyze_rejudges_a_saved_run_from_its_history(
    tmp_path: Path, short_scenario: Path
) -> None:
    out = tmp_path / "run"
    assert jobharness("run", str(short_scenario), "--out", str(out), "--seed", "3").returncode == 0
    assert jobharness("analyze", str(out)).returncode == 0
    # Forge the history: make a late reader return the very first version of a job, long after
    # newer versions were acknowledged. Analyze must now find the stale read without re-running.
    history = out / "scenarios" / "short-writers" / "history.jsonl"
    records = [json.loads(line) for line in history.read_text().splitlines()]
    first = next(r for r in records if r["f"] == "save" and r["type"] == "invoke")
    job = first[
        "job"
    ]  # ids are drawn from the random seed (harness.workload.job_ids): take the first saved
    last_read = max(
        (r for r in records if r["f"] == "get" and r["type"] == "ok" and r["job"] == job),
        key=lambda r: r["time"],
    )
    last_read["value"] = {
        "kind": "job",
        "tag": first["value"]["tag"],
        "digest": first["value"]["digest"],
    }
    history.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = jobharness("analyze", str(out))
    assert result.returncode == 1, result.stdout
    report = json.loads((out / "report.json").read_text())
    c6 = next(c for c in report["criteria"] if c["id"] == "C6")
    assert c6["passed"] is False
    assert "stale" in c6["summary"] or any("stale" in e for e in c6["evidence"])


def test_analyze_finds_each_scenario_by_name_not_by_its_place_in_the_report(
    tmp_path: Path,
) -> None:
    """Re-judging goes by each scenario's own folder: reorder report.json's scenarios and spoil
    the history paths it lists, and every scenario still gets its own history and verdict."""
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "a.toml").write_text(
        SHORT_SCENARIO.format(duration=0.3).replace("short-writers", "a")
    )
    updates = (ROOT / "scenarios" / "concurrent-updates.toml").read_text()
    (folder / "b.toml").write_text(updates)
    out = tmp_path / "run"
    result = jobharness(
        "verify",
        "--quick",
        "--store",
        "naive",
        "--scenarios",
        str(folder),
        "--out",
        str(out),
        "--seed",
        "11",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    before = json.loads((out / "report.json").read_text())
    statuses = {s["name"]: s["status"] for s in before["scenarios"]}
    assert statuses["concurrent-updates"] == "fail"
    shuffled = dict(
        before,
        scenarios=[
            dict(s, history="scenarios/elsewhere/history.jsonl")
            for s in reversed(before["scenarios"])
        ],
    )
    (out / "report.json").write_text(json.dumps(shuffled))
    assert jobharness("analyze", str(out)).returncode == 1
    after = json.loads((out / "report.json").read_text())
    assert {s["name"]: s["status"] for s in after["scenarios"]} == statuses
    assert [c["status"] for c in after["criteria"]] == [c["status"] for c in before["criteria"]]
    saved = json.loads((out / "scenarios" / "a" / "scenario.json").read_text())
    assert saved["history"] == "scenarios/a/history.jsonl" and "analyzed_at" in after


def test_analyze_refuses_a_bench_folder_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "bench.json").write_text(json.dumps({"tool": "jobharness-bench", "figures": {}}))
    result = jobharness("analyze", str(tmp_path))
    assert result.returncode == 2 and "a bench run; analyze re-judges" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ctrl_c_stops_every_process_and_leaves_no_store_behind(tmp_path: Path) -> None:
    scenario = tmp_path / "long.toml"
    scenario.write_text(SHORT_SCENARIO.format(duration=30))
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    reader_history = out / "scenarios" / "short-writers" / "processes" / "reader-0.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        reader_history.exists() and reader_history.stat().st_size > 1000
    ):
        time.sleep(0.05)
    assert reader_history.exists(), "the run did not start"
    os.killpg(
        process.pid, signal.SIGINT
    )  # what a terminal's Ctrl-C does: the whole foreground group
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    survivors = _processes_in_session(process.pid)
    assert not survivors, f"processes left behind: {survivors}"
    assert not (out / "scenarios" / "short-writers" / "store").exists()


def _processes_in_session(session: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # field 6 of stat: the session id
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")[:80]
            found.append(f"{entry.name} {command!r}")
    return found
