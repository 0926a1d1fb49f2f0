"""Every kind of failure carries one "likely cause -> fix" line, in the terminal and the reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checkers import CheckResult, registry
from harness.checkers.fixes import BY_COUNT, FIXES, fix_for
from harness.cli import main

MEASURES_ONLY = {"latency", "http_latency"}  # they give figures; the budget checker judges them


@pytest.mark.parametrize("name", sorted(registry()))
def test_each_checker_that_can_fail_has_a_fix_line(name: str) -> None:
    if name in MEASURES_ONLY:
        assert name not in FIXES
        return
    assert name in FIXES, f"{name}: add its likely cause -> fix line to harness/checkers/fixes.py"
    assert " -> " in FIXES[name]
    assert set(FIXES) <= set(registry())


def test_the_line_is_for_failures_only_and_counts_pick_the_specific_one() -> None:
    assert fix_for(CheckResult("no_torn_read", True, "fine")) is None
    assert fix_for(CheckResult("no_torn_read", None, "nothing to judge")) is None
    twice = CheckResult("http_leases", False, "1 finished twice", {"finished_twice": 1})
    assert fix_for(twice) == BY_COUNT[("http_leases", "finished_twice")]
    both = CheckResult("http_leases", False, "both", {"finished_twice": 1, "failed_live": 2})
    assert fix_for(both) == FIXES["http_leases"]  # the main failure's line comes first
    assert all(name in FIXES for name, _ in BY_COUNT)


def test_a_failed_run_prints_the_whole_summary_evidence_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    scenario = str(Path(__file__).resolve().parent.parent / "scenarios" / "damage-job-file.toml")
    code = main(["run", scenario, "--store", "phase470", "--out", str(out), "--seed", "3"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "           fix: a damaged job file was not recovered -> keep a backup" in printed
    assert "           first: damage-job-file: op #" in printed
    assert "..." not in printed  # summaries are wrapped, never cut
    saved = {c["id"]: c for c in json.loads((out / "report.json").read_text())["criteria"]}
    assert saved["C7"]["fixes"] and not saved["C2"]["fixes"]  # only failed criteria carry one
    assert "likely cause -> fix: a damaged job file" in (out / "report.md").read_text()
    assert "likely cause → fix: a damaged job file" in (out / "report.html").read_text()
