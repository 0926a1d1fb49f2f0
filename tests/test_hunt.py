"""``jobharness hunt``: drawn schedules are valid scenarios, a broken store's failure is found and
shrunk, the found file replays, the database remembers it, and a correct store gives no alarm."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from harness.cli import main
from harness.errors import ScenarioError
from harness.hunt.command import parse_budget
from harness.hunt.schedule import to_toml
from harness.hunt.strategies import schedules
from harness.scenario.loader import parse_scenario

ROOT = Path(__file__).resolve().parent.parent
TORN = f"{ROOT / 'tests' / 'broken_stores' / 'torn_writes.py'}:make_store"

needs_strace = pytest.mark.skipif(
    shutil.which("strace") is None or os.geteuid() != 0,
    reason="kills at a system call need strace and root",
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_every_drawn_schedule_is_a_scenario_the_loader_reads_back(schedule) -> None:  # type: ignore[no-untyped-def]
    import tomllib

    text = to_toml(schedule, "drawn", "a header\nof two lines")
    try:
        scenario = parse_scenario(tomllib.loads(text), "drawn.toml")
    except ScenarioError as error:  # only the pause-share rule may refuse a drawn schedule
        assert "pause" in str(error) or "faults[" in str(error), error
        return
    assert scenario.name == "drawn"
    assert len(scenario.faults) == len(schedule.faults)
    assert sorted(g.role for g in scenario.processes) == sorted(g.role for g in schedule.processes)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(job_files=False))
def test_a_store_without_job_files_is_never_drawn_damage_or_a_power_cut(schedule) -> None:  # type: ignore[no-untyped-def]
    """A database store has no file per job: damage and power cuts would judge nothing (a
    10-minute hunt of the PostgreSQL store spent 462 of 979 schedules on them)."""
    assert schedule.power_cut is None
    assert all(fault.kind != "damage" for fault in schedule.faults)


def test_a_budget_reads_as_seconds() -> None:
    assert [parse_budget(t) for t in ("90", "90s", "2m", "1h", "1m30s")] == [90, 90, 120, 3600, 90]
    with pytest.raises(argparse.ArgumentTypeError, match="such as 90s"):
        parse_budget("soon")


@needs_strace
def test_a_torn_write_store_is_found_shrunk_and_the_found_file_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hunts" / "first"
    hunt = ["hunt", "--store", TORN, "--budget", "75s", "--seed", "1", "--same-schedules"]
    code = main([*hunt, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 1, printed[-3000:]
    summary = json.loads((out / "hunt.json").read_text())
    found = summary["found"]
    assert "C6" in found["criteria"], found
    assert found["faults"] <= 3 and found["processes"] <= 3, found
    assert found["reruns_failed"] == found["reruns"] == 3
    assert "fix: " in printed and "replay: jobharness run" in printed
    replay = ["run", str(out / "found.toml"), "--store", TORN, "--seed", str(found["seed"])]
    assert main([*replay, "--out", str(tmp_path / "replay")]) == 1
    # The database beside the hunt folder: the next hunt of this store tries that failure first.
    again = tmp_path / "hunts" / "second"
    assert main(["hunt", "--store", TORN, "--budget", "30s", "--seed", "2", "--out", str(again),
                 "--confirm", "0"]) == 1  # fmt: skip
    assert json.loads((again / "hunt.json").read_text())["failing"] >= 1
    assert any((tmp_path / "hunts" / "hunt-db").iterdir())  # kept by the second (random) hunt


@needs_strace
def test_the_hardened_store_gives_no_failure_in_a_short_hunt(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The same schedules every time (a fixed draw), so a failure here is a finding, not luck.
    Every failure the first hunts raised on this store was a false alarm of the harness (a
    writer with no job, a save read as a lost update, "not found" read as a raise...), fixed."""
    from harness.hunt.search import hunt

    budget = 600.0 if request.config.getoption("--soak") else 30.0
    result = hunt("hardened", tmp_path / "hunt", budget_s=budget, seed=3, same_schedules=True)
    found = result.found
    assert found is None, (found.schedule.describe(), [c.explained() for c in found.failed])
    assert result.tried >= 5


def test_a_store_that_cannot_be_opened_is_unknown_not_a_clean_hunt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "unopenable.py"
    spec.write_text("def make_store(root):\n    raise RuntimeError('no database configured')\n")
    store = f"{spec}:make_store"
    code = main(["hunt", "--store", store, "--budget", "20s", "--out", str(tmp_path / "h")])
    assert code == 2
    printed = capsys.readouterr().err
    assert "failed the preflight, nothing was hunted" in printed
    assert "no database configured" in printed


@needs_strace
def test_a_found_failure_is_kept_replayed_first_by_verify_and_handed_back_under_sudo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store kills its own process in every save: found at once, deterministic, kept under
    ``hunt-db/found/<store>/`` with its seed, and the next verify into the same reports folder
    runs it before the suite. Under sudo every file goes back to the user."""
    nobody = 65534
    monkeypatch.setenv("SUDO_UID", str(nobody))
    monkeypatch.setenv("SUDO_GID", str(nobody))
    store = f"{ROOT / 'tests' / 'broken_stores' / 'kills_itself.py'}:make_store"
    reports = tmp_path / "reports"
    hunt = ["hunt", "--store", store, "--budget", "20s", "--seed", "1", "--confirm", "2"]
    assert main([*hunt, "--same-schedules", "--out", str(reports / "hunt")]) == 1
    printed = capsys.readouterr().out
    assert "on the same operation numbers in 2 of 2" in printed, printed[-2000:]
    summary = json.loads((reports / "hunt" / "hunt.json").read_text())
    kept = Path(summary["found"]["kept_for_verify"])
    assert kept.parent.parent == reports / "hunt-db" / "found"
    assert f"seed = {summary['found']['seed']}" in kept.read_text()
    owners = {path.stat().st_uid for path in reports.rglob("*")}
    assert owners == {nobody}, owners
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(ROOT / "scenarios" / "same-job-writers.toml", suite)
    verify = ["verify", "--store", store, "--scenarios", str(suite), "--quick"]
    assert main([*verify, "--out", str(reports / "verify")]) == 1
    assert "replaying first 1 failure(s) found by earlier hunts" in capsys.readouterr().out
    report = json.loads((reports / "verify" / "report.json").read_text())
    names = [scenario["name"] for scenario in report["scenarios"]]
    assert names == [kept.stem, "same-job-writers"]
    assert report["scenarios"][0]["status"] == "fail"


FSYNC_ERROR = """
name = "sqlite-fsync-error"
checkers = ["never_raises", "no_torn_read", "acknowledged_writes_survive", "clear_errors"]
[workload]
jobs = 1
payload_bytes = [100]
duration = 0.6
deterministic = true
turns = 10
[[processes]]
role = "writer"
count = 1
[[faults]]
kind = "diskfault"
target = "writer-0"
syscall = "fsync"
error = "{error}"
nth = 1
"""


@needs_strace
@pytest.mark.parametrize("error", ["ENOSPC", "EIO"])
def test_the_sqlite_fsync_error_a_hunt_found_now_names_its_cause(
    tmp_path: Path, error: str
) -> None:
    """A 10-minute hunt of the SQLite store found that a failed fsync came back as "disk I/O
    error" whatever the cause (SQLite drops the errno), so C5 failed on ENOSPC. The message now
    names both causes and how to tell them apart."""
    path = tmp_path / "fsync.toml"
    path.write_text(FSYNC_ERROR.format(error=error))
    out = tmp_path / "run"
    main(["run", str(path), "--store", "sqlite", "--seed", "1", "--out", str(out)])
    report = json.loads((out / "report.json").read_text())
    criteria = {c["id"]: c["status"] for c in report["criteria"]}
    assert criteria["C5"] == "pass", report["criteria"]


@needs_strace
def test_a_free_running_failure_gets_a_deterministic_twin_that_replays_exactly(
    tmp_path: Path,
) -> None:
    """A random-time kill in turns lands between two calls and leaves nothing half done, so
    the twin that fails is the one with a kill at the first rename, in 40 turns."""
    from harness.hunt.schedule import Processes, Schedule
    from harness.hunt.search import Trial, deterministic_twin
    from harness.hunt.strategies import kill_random, twins_of

    free = Schedule(2, (100,), 0.6, (Processes("writer", 2),), (kill_random("writer-1"),))
    twins = twins_of(free)
    assert all(twin.deterministic for twin in twins)
    assert [twin.faults[0].label for twin in twins[2:]] == [
        "kill writer-1 at rename #1", "kill writer-1 at fsync #1", "kill writer-1 at write #1"
    ]  # fmt: skip
    store = f"{ROOT / 'tests' / 'broken_stores' / 'no_recover.py'}:make_store"
    twin = deterministic_twin(Trial(free, tmp_path / "x.toml", 1, []), store, tmp_path, 3)
    assert twin is not None
    assert twin.schedule.describe() == "2 writer; kill writer-1 at rename #1; 40 turns"
    assert [criterion.id for criterion in twin.failed] == ["C8"]
    assert deterministic_twin(twin, store, tmp_path / "again", 3) is None  # already deterministic
