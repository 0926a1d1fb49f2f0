"""The trend log: one line per verify or bench run, read back as records, found where it was put."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

from harness.checkers.result import CheckResult
from harness.results import CriterionResult, RunReport, ScenarioResult, trend
from harness.results.trend import TrendEntry, append_run, read_trend, trend_file, verify_figures


def test_an_appended_run_reads_back_as_the_same_entry(tmp_path: Path) -> None:
    log = tmp_path / "trend.jsonl"
    entry = append_run(
        "bench", {"save.hardened.1k.ratio": 1.08, "note": "x"}, directory=tmp_path, path=log
    )
    assert entry.figures == {"save.hardened.1k.ratio": 1.08}  # only numbers can be drawn
    with open(log, "a", encoding="utf-8") as out:
        out.write('{"kind": "verify", "figu')  # a run killed while appending
    assert read_trend(log) == [entry]


def test_the_trend_log_is_named_for_the_trend_and_put_where_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOBHARNESS_TREND", raising=False)
    monkeypatch.delenv("JOBHARNESS_HISTORY", raising=False)
    assert trend_file() == Path("reports") / "trend.jsonl"
    monkeypatch.setenv("JOBHARNESS_HISTORY", str(tmp_path / "old-name.jsonl"))
    assert trend_file() == tmp_path / "old-name.jsonl"  # the variable's older name still works
    monkeypatch.setenv("JOBHARNESS_TREND", str(tmp_path / "new-name.jsonl"))
    assert trend_file() == tmp_path / "new-name.jsonl"


def test_a_log_written_before_the_rename_is_read_until_a_trend_log_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOBHARNESS_TREND", raising=False)
    monkeypatch.delenv("JOBHARNESS_HISTORY", raising=False)
    (tmp_path / "reports").mkdir()
    old = {"kind": "bench", "commit": "abc", "date": None, "figures": {"a": 1.0}, "dir": "r/b"}
    (tmp_path / "reports" / "history.jsonl").write_text(json.dumps(old) + "\n")
    assert [entry.commit for entry in read_trend()] == ["abc"]
    run = tmp_path / "reports" / "bench-1"
    append_run("bench", {"a": 2.0}, directory=run, commit="def", machine={"cpus": 2})
    assert [entry.commit for entry in read_trend()] == ["def"]
    assert (tmp_path / "reports" / "trend.jsonl").is_file()


def test_a_run_writes_its_trend_line_beside_its_folder_not_in_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, elsewhere = tmp_path / "here", tmp_path / "ci" / "out"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.delenv("JOBHARNESS_TREND", raising=False)
    monkeypatch.delenv("JOBHARNESS_HISTORY", raising=False)
    append_run("verify", {"a": 1.0}, directory=elsewhere / "verify-1", commit="c1", machine={})
    assert list(here.iterdir()) == []  # nothing in the current folder
    assert trend_file(elsewhere / "verify-1") == elsewhere / "trend.jsonl"
    assert [e.commit for e in read_trend(run_dir=elsewhere / "verify-2")] == ["c1"]


def test_an_unwritable_trend_log_is_a_one_line_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("JOBHARNESS_TREND", str(blocked / "trend.jsonl"))  # ENOTDIR as any user
    entry = append_run("bench", {"a": 1.0}, directory=tmp_path / "run", commit="c", machine={})
    assert entry.figures == {"a": 1.0}
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "warning: this run is not in the trend log" in warning
    assert "JOBHARNESS_TREND" in warning


def test_a_verify_report_gives_its_budget_ratios_and_criteria_counts() -> None:
    budget = CheckResult("performance_budget", True, "ok", figures={"ratios": {"save": 1.1}})
    scenario = ScenarioResult.judged(
        name="latency",
        description="",
        kind="latency",
        roles=(),
        checkers=("performance_budget",),
        applicable=True,
        standing="",
        reason="",
        notes=(),
        duration=1.0,
        history="scenarios/latency/history.jsonl",
        checks=(budget,),
    )
    criteria = (
        CriterionResult("P1", "write", "pass", "ok"),
        CriterionResult("C6", "data", "fail", "torn"),
        CriterionResult("C7", "backup", "unknown", "?"),
    )
    report = RunReport("naive", 1, "fail", "C6 failed", criteria, (scenario,), duration_s=3.5)
    assert verify_figures(report) == {
        "verify.naive.save": 1.1,
        "verify.naive.criteria_passed": 1,
        "verify.naive.criteria_failed": 1,
        "verify.naive.duration_s": 3.5,
    }
    assert trend.entry_of(report).figures == verify_figures(report)


def test_the_modules_examples_hold() -> None:
    assert doctest.testmod(trend).failed == 0
    assert TrendEntry.from_dict({"figures": {"a": True, "b": 2}}).figures == {"b": 2}
