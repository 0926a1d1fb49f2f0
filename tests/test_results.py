"""The result records and their one loader: record -> JSON -> record, old files, bad files.

Every record the harness saves must come back from its JSON as the same record, keep the keys
reports have always had (users' scripts and the committed baseline read them), and read the
files older versions wrote. What is not a run is refused with one line that says what to give.
"""

from __future__ import annotations

import dataclasses
import doctest
import json
from pathlib import Path
from typing import Any

import pytest

from harness import results as results_package
from harness.checkers.result import MAX_EVIDENCE, MAX_MARKED, CheckResult, evidence_fields
from harness.cli import main
from harness.errors import ConfigError
from harness.gate import Baseline, Results, compare, gather_results
from harness.results import (
    BenchResults,
    CriterionResult,
    Preflight,
    RunReport,
    ScenarioResult,
    bench_results,
    load_run,
    loading,
    read_json_object,
    status,
    verify_report,
)

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "reports" / "baseline.json"

REPORT_KEYS = [  # report.json's keys, in their order: what users' scripts read
    "tool",
    "format",
    "verdict",
    "reason",
    "store",
    "seed",
    "quick",
    "command",
    "replay",
    "started",
    "duration_s",
    "machine",
    "commit",
    "criteria",
    "scenarios",
    "preflight",
]
SCENARIO_KEYS = [
    "name",
    "description",
    "kind",
    "roles",
    "checkers",
    "applicable",
    "standing",
    "reason",
    "notes",
    "duration_s",
    "history",
    "checks",
    "status",
    "passed",
]
CRITERION_KEYS = ["id", "title", "status", "passed", "summary", "evidence", "scenarios", "fixes"]
CHECK_KEYS = ["name", "valid", "summary", "counts", "evidence", "figures", "crashed"]


def a_check(valid: bool | None = False) -> CheckResult:
    return CheckResult(
        "no_torn_read",
        valid,
        "1 torn read",
        {"gets": 10, "torn": 1},
        ["op #12 reader-0 get(j0) -> ok at 0.120s: torn: half a job", "not about one operation"],
        {"latency": {"p50_ms": 0.1}},
    )


def a_scenario(name: str = "kill-random", checks: tuple[CheckResult, ...] = ()) -> ScenarioResult:
    return ScenarioResult.judged(
        name=name,
        description="writers killed at random",
        kind="concurrent",
        roles=["reader", "writer"],
        checkers=["no_torn_read"],
        applicable=True,
        standing="",
        reason="",
        notes=["a fault that never fired"],
        duration=1.23456,
        history=f"scenarios/{name}/history.jsonl",
        checks=checks or (a_check(),),
    )


def a_report(folder: Path | None = None) -> RunReport:
    c6 = CriterionResult(
        "C6",
        "No data loss on concurrent writes",
        "fail",
        "kill-random: 1 torn read",
        ("kill-random: op #12 reader-0 get(j0)",),
        {"kill-random": "fail"},
    )
    return RunReport(
        store="naive",
        seed=7,
        verdict="fail",
        reason="C6 failed",
        criteria=(c6,),
        scenarios=(a_scenario(),),
        quick=True,
        command="jobharness verify --store naive --seed 7 --quick",
        replay="jobharness verify --store naive --seed 7 --quick",
        started="2026-11-28T19:30:00+00:00",
        duration_s=12.5,
        machine={"hostname": "ci", "cpus": 2},
        commit="abc1234",
        preflight=Preflight(True, took_s=0.08, capabilities={"recover": False}),
        folder=folder,
    )


def a_bench() -> dict[str, Any]:
    return {
        "tool": "jobharness-bench",
        "format": 1,
        "quick": True,
        "commit": "abc1234",
        "started": "2026-11-28T20:00:00+00:00",
        "duration_s": 61.0,
        "machine": {"hostname": "ci", "cpus": 2},
        "figures": {
            "floor_write.1k": {"value": 470.0, "unit": "us", "floor": None, "ratio": None},
            "save.hardened.1k": {
                "value": 510.0,
                "unit": "us",
                "p50_us": 510.0,
                "p99_us": 800.0,
                "samples": 200,
                "floor": "floor_write.1k",
                "ratio": 1.085,
                "store": "hardened",
                "op": "save",
                "payload": "1k",
                "a_field_added_later": [1, 2],
            },
        },
        "targets": [{"id": "T1", "figure": "save.hardened.1k", "limit": 1.15, "passed": True}],
        "scaling": {"same": {"hardened": [{"processes": 1, "ops_per_s": 1900.0}]}},
        "a_section_added_later": {"x": 1},
    }


# ---------------------------------------------------------------- round trips


def test_a_check_result_comes_back_from_its_json_with_the_operations_its_evidence_names() -> None:
    check = a_check()
    assert check.evidence_operations == (12, None)
    saved = json.loads(json.dumps(check.as_dict()))
    assert CheckResult.from_dict(saved) == check
    assert list(saved)[: len(CHECK_KEYS)] == CHECK_KEYS
    assert saved["evidence_operations"] == [12, None]


def test_a_check_saved_before_evidence_operations_reads_them_from_its_lines() -> None:
    saved = a_check().as_dict()
    del saved["evidence_operations"]
    assert CheckResult.from_dict(saved).evidence_operations == (12, None)


def test_saved_operations_win_over_the_text_of_the_lines() -> None:
    saved = {**a_check().as_dict(), "evidence_operations": [99, 3]}
    assert CheckResult.from_dict(saved).problem_operations() == {
        99: a_check().evidence[0],
        3: a_check().evidence[1],
    }


def test_only_a_failed_check_holds_operations_against_the_run() -> None:
    assert a_check(False).problem_operations() == {12: a_check().evidence[0]}
    assert a_check(True).problem_operations() == {}
    crashed = CheckResult("x", None, "checker crashed", evidence=["op #1 Traceback"], crashed=True)
    assert crashed.problem_operations() == {}


def test_a_failed_check_marks_every_offending_operation_not_only_the_lines_people_read() -> None:
    lines = [f"op #{n} reader-0 get(j0) -> ok: garbled" for n in range(100, 800)]
    check = CheckResult("no_torn_read", False, "700 torn", {}, **evidence_fields(lines))
    assert len(check.evidence) == MAX_EVIDENCE
    marked = CheckResult.from_dict(json.loads(json.dumps(check.as_dict()))).problem_operations()
    assert len(marked) == MAX_MARKED  # capped, so report.json stays small
    assert marked[100] == lines[0] and 100 + MAX_MARKED - 1 in marked


def test_a_scenario_result_comes_back_from_its_json() -> None:
    scenario = a_scenario()
    saved = json.loads(json.dumps(scenario.as_dict()))
    assert ScenarioResult.from_dict(saved) == scenario
    assert list(saved) == SCENARIO_KEYS
    assert (saved["status"], saved["passed"], saved["duration_s"]) == ("fail", False, 1.235)


def test_a_criterion_result_comes_back_from_its_json() -> None:
    criterion = a_report().criteria[0]
    saved = json.loads(json.dumps(criterion.as_dict()))
    assert CriterionResult.from_dict(saved) == criterion
    assert list(saved) == CRITERION_KEYS


def test_a_run_report_comes_back_from_its_json_with_todays_keys_in_order() -> None:
    report = a_report()
    saved = json.loads(json.dumps(report.as_dict()))
    assert RunReport.from_dict(saved) == report
    assert list(saved) == REPORT_KEYS
    analyzed = RunReport.from_dict({**saved, "analyzed_at": "2026-11-29T10:00:00+00:00"})
    assert list(analyzed.as_dict()) == [*REPORT_KEYS, "analyzed_at"]


def test_bench_results_keep_every_field_as_written_known_or_not() -> None:
    written = a_bench()
    bench = BenchResults.from_dict(written)
    assert bench.as_dict() == written
    assert BenchResults.from_dict(json.loads(json.dumps(bench.as_dict()))) == bench
    assert bench.ratios == {"save.hardened.1k": 1.085}
    assert list(bench.floors) == ["floor_write.1k"] and bench.stores == ["hardened"]
    figure = bench.figures["save.hardened.1k"]
    assert (figure.p50_us, figure.p99_us, figure.samples, figure.op) == (510.0, 800.0, 200, "save")
    assert bench.targets[0].passed is True and bench.part("scaling")
    assert bench.part("breakdown") == {}  # not measured by this run


def test_a_scenario_saved_with_only_a_passed_flag_gets_its_status_worked_out() -> None:
    saved = a_scenario().as_dict()
    for key in ("status", "passed", "standing"):
        del saved[key]
    assert ScenarioResult.from_dict(saved).status == "fail"
    old_criterion = {"id": "C1", "title": "t", "passed": None, "summary": "s"}
    assert CriterionResult.from_dict(old_criterion).status == "n/a"


def test_rejudging_keeps_the_runners_reason_and_drops_a_crashed_checkers() -> None:
    crashed = CheckResult("no_torn_read", None, "checker crashed: KeyError", crashed=True)
    before = a_scenario(checks=(crashed,))
    assert (before.status, before.reason) == (
        "unknown",
        "checker no_torn_read crashed: checker crashed: KeyError",
    )
    after = before.rejudged([a_check(True)])
    assert (after.status, after.reason) == ("pass", "")
    blind = ScenarioResult.judged(
        **{**_fields(before), "applicable": False, "standing": "unknown", "reason": "strace"}
    )
    assert blind.rejudged([]).reason == "strace" and blind.rejudged([]).status == "unknown"


def _fields(scenario: ScenarioResult) -> dict[str, Any]:
    keys = ("name", "description", "kind", "roles", "checkers", "applicable", "standing")
    return {
        **{key: getattr(scenario, key) for key in keys},
        "reason": scenario.reason,
        "notes": scenario.notes,
        "duration": scenario.duration,
        "history": scenario.history,
        "checks": scenario.checks,
    }


def test_the_modules_examples_hold() -> None:
    for module in (results_package, status, verify_report, bench_results, loading):
        assert doctest.testmod(module).failed == 0


# ---------------------------------------------------------------- the loader


def test_load_run_reads_a_folder_or_either_file(tmp_path: Path) -> None:
    verify, bench = tmp_path / "verify", tmp_path / "bench"
    verify.mkdir()
    bench.mkdir()
    (verify / "report.json").write_text(json.dumps(a_report().as_dict()))
    (bench / "bench.json").write_text(json.dumps(a_bench()))
    for path in (verify, verify / "report.json"):
        run = load_run(path)
        assert isinstance(run, RunReport) and run == a_report() and run.folder == verify
    for path in (bench, bench / "bench.json"):
        run = load_run(path)
        assert isinstance(run, BenchResults) and run.folder == bench


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file or folder"),
        ("{not json", "cannot read it as JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"tool": "pytest-benchmark"}', "neither a jobharness report.json nor a bench.json"),
        ('{"criteria": [{"title": "no id"}], "scenarios": []}', "lacks its 'id' key"),
    ],
)
def test_what_is_not_a_run_is_a_one_line_config_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_run(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_folder_without_a_run_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"neither report\.json nor bench\.json here"):
        load_run(tmp_path)


def test_the_committed_baseline_loads_in_the_gate_and_is_not_taken_for_a_run() -> None:
    saved = read_json_object(BASELINE)
    with pytest.raises(ConfigError, match=r"neither a jobharness report\.json nor a bench\.json"):
        load_run(BASELINE)
    baseline = Baseline.from_dict(saved, str(BASELINE))
    assert set(baseline.criteria) >= {"hardened", "naive", "phase470"} and baseline.figures
    assert Baseline.from_dict(baseline.as_dict()) == baseline
    # The results the baseline was written from, measured again: nothing changed.
    criteria = {store: dict(verdicts) for store, verdicts in baseline.criteria.items()}
    ratios = {name: figure.ratio for name, figure in baseline.figures.items()}
    changes = compare(baseline, Results(criteria, ratios, ["literal"], {}))
    assert len(changes) == sum(map(len, criteria.values())) + len(ratios)
    assert {change.status for change in changes} == {"ok"}
    criteria["hardened"]["C6"] = "unknown"
    regressions = [
        c.name for c in compare(baseline, Results(criteria, ratios, [], {})) if c.is_regression
    ]
    assert regressions == ["hardened C6"]


def test_the_gate_command_judges_a_report_against_the_committed_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = Baseline.from_dict(read_json_object(BASELINE))
    hardened = [
        CriterionResult(cid, cid, status, "")
        for cid, status in baseline.criteria["hardened"].items()
    ]
    report = dataclasses.replace(a_report(), store="hardened", criteria=tuple(hardened))
    (tmp_path / "report.json").write_text(json.dumps(report.as_dict()))
    assert main(["gate", "--baseline", str(BASELINE), str(tmp_path)]) == 0
    assert "gate: pass" in capsys.readouterr().out
    failing = [dataclasses.replace(c, status="fail") if c.id == "C6" else c for c in hardened]
    (tmp_path / "report.json").write_text(
        json.dumps(dataclasses.replace(report, criteria=tuple(failing)).as_dict())
    )
    assert main(["gate", "--baseline", str(BASELINE), str(tmp_path)]) == 1
    assert "FAIL  hardened C6" in capsys.readouterr().out


def test_a_malformed_baseline_is_a_one_line_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"b\.json: figures\.save\.hardened\.1k: expected"):
        Baseline.from_dict({"figures": {"save.hardened.1k": {"threshold": 0.1}}}, "b.json")


def test_the_gate_reads_runs_through_the_one_loader(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps(a_report().as_dict()))
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "bench.json").write_text(json.dumps(a_bench()))
    results = gather_results([tmp_path / "report.json", bench])
    assert results.criteria == {"naive": {"C6": "fail"}}
    assert results.figures == {"save.hardened.1k": 1.085}
    assert results.floors == {"floor_write.1k": 470.0}
    assert results.sources == [str(tmp_path / "report.json"), str(bench / "bench.json")]
    with pytest.raises(ConfigError, match="no such file or folder"):
        gather_results([tmp_path / "missing"])
