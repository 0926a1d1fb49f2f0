"""A verification run: scenarios against one store, then checkers, criteria and the report.

:func:`verify` is what ``jobharness verify`` and ``jobharness run`` do; :func:`analyze` re-judges
a saved run from its histories without running anything. Layout of a run folder::

    reports/verify-hardened-20261128-193000/
        report.json   report.md
        scenarios/<name>/history.jsonl     the merged history: the evidence
        scenarios/<name>/scenario.json     what analyze needs to re-judge it
        scenarios/<name>/processes/*.jsonl per-process histories, strace-*.log fault traces
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.checkers import CheckResult, run_checkers
from harness.criteria import ScenarioChecks, evaluate_all, verdict_of
from harness.errors import ConfigError
from harness.history import History, load_history
from harness.runner import RunOutcome, run_scenario
from harness.scenario import Scenario

QUICK_FACTOR = 0.35


@dataclass
class ScenarioReport:
    """One scenario's part of a report."""

    name: str
    description: str
    kind: str
    roles: tuple[str, ...]
    checkers: tuple[str, ...]
    applicable: bool
    reason: str
    notes: list[str]
    duration: float
    history: str  # path relative to the run folder
    checks: list[CheckResult]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "roles": list(self.roles),
            "checkers": list(self.checkers),
            "applicable": self.applicable,
            "reason": self.reason,
            "notes": self.notes,
            "duration_s": round(self.duration, 3),
            "history": self.history,
            "checks": [check.as_dict() for check in self.checks],
            "passed": self.passed,
        }

    @property
    def passed(self) -> bool | None:
        if not self.applicable:
            return None
        verdicts = [c.valid if not c.crashed else False for c in self.checks]
        if any(v is False for v in verdicts):
            return False
        return True if any(v is True for v in verdicts) else None


Progress = Callable[[str, int, int, str], None]  # (scenario, index, total, message)


def verify(
    scenarios: list[Scenario],
    spec: str,
    out_dir: Path,
    seed: int,
    *,
    quick: bool = False,
    command: str = "",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run ``scenarios`` against ``spec``; write report.json and report.md in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    began = datetime.now(UTC)
    reports: list[ScenarioReport] = []
    for index, scenario in enumerate(scenarios, 1):
        if quick:
            scenario = scenario.scaled(QUICK_FACTOR)
        run_dir = out_dir / "scenarios" / scenario.name

        def tell(message: str, scenario: Scenario = scenario, index: int = index) -> None:
            if progress:
                progress(scenario.name, index, len(scenarios), message)

        outcome = run_scenario(scenario, spec, run_dir, seed, tell)
        report = judge_outcome(scenario, outcome, out_dir)
        _save_scenario_meta(run_dir, report)
        reports.append(report)
        tell(_status_word(report.passed))
    document = build_report(reports, spec, seed, quick, command, began, time.monotonic() - started)
    write_reports(out_dir, document)
    from harness.trend import append_run, verify_figures

    append_run(
        "verify",
        verify_figures(document),
        directory=out_dir,
        store=spec,
        verdict=document["verdict"],
        commit=document["commit"],
        machine=document["machine"],
    )
    return document


def judge_outcome(scenario: Scenario, outcome: RunOutcome, out_dir: Path) -> ScenarioReport:
    checks: list[CheckResult] = []
    if outcome.applicable:
        checks = run_checkers(scenario.checkers, History(outcome.records))
    return ScenarioReport(
        name=scenario.name,
        description=scenario.description,
        kind=scenario.kind,
        roles=tuple(sorted(scenario.roles())),
        checkers=scenario.checkers,
        applicable=outcome.applicable,
        reason=outcome.reason,
        notes=outcome.notes,
        duration=outcome.duration,
        history=os.fspath((outcome.run_dir / "history.jsonl").relative_to(out_dir)),
        checks=checks,
    )


def analyze(run_dir: Path) -> dict[str, Any]:
    """Re-judge a saved run from its histories alone and rewrite its reports."""
    report_path = run_dir / "report.json"
    try:
        previous = json.loads(report_path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{run_dir}: no report.json here; give the folder a verify or run command wrote"
        ) from None
    except ValueError as error:
        raise ConfigError(f"{report_path}: not valid JSON ({error})") from None
    reports = []
    for entry in previous.get("scenarios", []):
        history_file = run_dir / entry["history"]
        checks: list[CheckResult] = []
        if entry.get("applicable", True):
            if not history_file.exists():
                raise ConfigError(
                    f"{history_file}: the history of scenario {entry['name']!r} is missing"
                )
            checks = run_checkers(entry["checkers"], History(load_history(history_file)))
        reports.append(
            ScenarioReport(
                entry["name"],
                entry.get("description", ""),
                entry.get("kind", "concurrent"),
                tuple(entry.get("roles", ())),
                tuple(entry["checkers"]),
                entry.get("applicable", True),
                entry.get("reason", ""),
                entry.get("notes", []),
                entry.get("duration_s", 0.0),
                entry["history"],
                checks,
            )
        )
    began = (
        datetime.fromisoformat(previous["started"]) if "started" in previous else datetime.now(UTC)
    )
    document = build_report(
        reports,
        previous.get("store", "?"),
        previous.get("seed", 0),
        previous.get("quick", False),
        previous.get("command", ""),
        began,
        previous.get("duration_s", 0.0),
    )
    document["analyzed_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_reports(run_dir, document)
    return document


def build_report(
    reports: list[ScenarioReport],
    spec: str,
    seed: int,
    quick: bool,
    command: str,
    began: datetime,
    duration: float,
) -> dict[str, Any]:
    checks = [
        ScenarioChecks(
            r.name, r.roles, {c.name: c for c in r.checks}, r.checkers, r.applicable, r.reason
        )
        for r in reports
    ]
    criteria = evaluate_all(checks)
    verdict = verdict_of(criteria)
    replay = f"jobharness verify --store {spec} --seed {seed}" + (" --quick" if quick else "")
    if command and not command.startswith("jobharness verify"):
        replay = command
    return {
        "tool": "jobharness",
        "format": 1,
        "verdict": verdict,
        "store": spec,
        "seed": seed,
        "quick": quick,
        "command": command,
        "replay": replay,
        "started": began.isoformat(timespec="seconds"),
        "duration_s": round(duration, 2),
        "machine": machine_info(),
        "commit": current_commit(),
        "criteria": [c.as_dict() for c in criteria],
        "scenarios": [r.as_dict() for r in reports],
    }


def write_reports(out_dir: Path, document: dict[str, Any]) -> None:
    from harness.report.markdown import render_markdown

    (out_dir / "report.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    (out_dir / "report.md").write_text(render_markdown(document))


def machine_info() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def current_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _save_scenario_meta(run_dir: Path, report: ScenarioReport) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "scenario.json").write_text(json.dumps(report.as_dict(), indent=2, default=str))


def _status_word(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "n/a"}[passed]
