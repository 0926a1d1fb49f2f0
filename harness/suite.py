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
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.checkers import CheckResult, run_checkers
from harness.criteria import ScenarioChecks, evaluate_all, unknown_results, verdict_of
from harness.errors import ConfigError, HarnessError
from harness.history import History, load_history
from harness.preflight import run_preflight
from harness.provenance import current_commit, machine_info
from harness.results import FAIL, NOT_APPLICABLE, PASS, UNKNOWN, CriterionResult
from harness.runner import RunOutcome, run_scenario
from harness.scenario import Scenario

QUICK_FACTOR = 0.35


# Operations that are store calls: a history with none of them judged no store at all.
STORE_CALLS = ("save", "get", "update", "recover", "crash_state", "get_recovering")


@dataclass
class ScenarioReport:
    """One scenario's part of a report.

    ``standing`` is what the runner said before any checker ran: ``n/a`` (the store lacks what the
    scenario needs), ``unknown`` (the harness could not run or follow it) or empty; ``status``
    adds what the checks found (see :func:`scenario_status`).
    """

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
    standing: str = ""

    def as_dict(self) -> dict[str, Any]:
        status, why = self.status_and_reason
        return {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "roles": list(self.roles),
            "checkers": list(self.checkers),
            "applicable": self.applicable,
            "standing": self.standing,
            "reason": why,
            "notes": self.notes,
            "duration_s": round(self.duration, 3),
            "history": self.history,
            "checks": [check.as_dict() for check in self.checks],
            "status": status,
            "passed": {PASS: True, FAIL: False}.get(status),
        }

    @property
    def status_and_reason(self) -> tuple[str, str]:
        return scenario_status(self.standing, self.applicable, self.reason, self.checks)

    @property
    def status(self) -> str:
        return self.status_and_reason[0]

    @property
    def passed(self) -> bool | None:
        return {PASS: True, FAIL: False}.get(self.status)


def scenario_status(
    standing: str, applicable: bool, reason: str, checks: list[CheckResult]
) -> tuple[str, str]:
    """A scenario's verdict and why: fail ranks above unknown, which ranks above pass.

    >>> scenario_status("", True, "", [CheckResult("no_litter", True, "clean")])
    ('pass', '')
    >>> scenario_status("unknown", True, "setup did not complete", [])
    ('unknown', 'setup did not complete')
    """
    if not applicable and standing == UNKNOWN:
        return UNKNOWN, reason  # it could not run here: the harness did not see it
    if not applicable or standing == NOT_APPLICABLE:
        return NOT_APPLICABLE, reason
    if any(check.valid is False and not check.crashed for check in checks):
        return FAIL, reason
    if standing == UNKNOWN:
        return UNKNOWN, reason
    crashed = [check for check in checks if check.crashed]
    if crashed:
        return UNKNOWN, f"checker {crashed[0].name} crashed: {crashed[0].summary}"
    if any(check.valid is True for check in checks):
        return PASS, reason
    return UNKNOWN, reason or "no checker found anything to judge in this history"


def standing_of(outcome: RunOutcome) -> tuple[str, str]:
    """What the run itself says of the scenario, before checks: n/a, unknown, or nothing."""
    if not outcome.applicable:
        return (UNKNOWN if outcome.unknown else NOT_APPLICABLE), outcome.reason
    if outcome.unknown:
        return UNKNOWN, outcome.reason
    lost = [
        record
        for record in outcome.records
        if record.f == "unknown" and isinstance(record.value, dict)
    ]
    if lost:
        return UNKNOWN, str(lost[0].value.get("reason", "the fault model lost track of the store"))
    if not any(record.f in STORE_CALLS for record in outcome.records):
        return UNKNOWN, "the history holds no store call: nothing was judged"
    return "", outcome.reason


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
    """Run ``scenarios`` against ``spec``; write report.json and report.md in ``out_dir``.

    The store's preflight (:mod:`harness.preflight`) comes first: a store that cannot be opened,
    written and read back runs no scenario, and the report says *unknown* with the reason.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    began = datetime.now(UTC)
    if progress:
        progress("preflight", 0, len(scenarios), "opening the store")
    checked = run_preflight(spec)
    if not checked.ok:
        document = build_report([], spec, seed, quick, command, began, time.monotonic() - started)
        reason = f"the store failed the preflight, no scenario ran: {checked.reason}"
        document.update(
            verdict=UNKNOWN,
            reason=reason,
            preflight=checked.as_dict(),
            criteria=[c.as_dict() for c in unknown_results(reason)],
        )
        write_reports(out_dir, document)
        return document
    reports: list[ScenarioReport] = []
    for index, scenario in enumerate(scenarios, 1):
        if quick:
            scenario = scenario.scaled(QUICK_FACTOR)
        run_dir = out_dir / "scenarios" / scenario.name

        def tell(message: str, scenario: Scenario = scenario, index: int = index) -> None:
            if progress:
                progress(scenario.name, index, len(scenarios), message)

        outcome = _run_guarded(scenario, spec, run_dir, seed, tell)
        report = judge_outcome(scenario, outcome, out_dir)
        _save_scenario_meta(run_dir, report)
        reports.append(report)
        tell(_status_word(report.status))
    document = build_report(reports, spec, seed, quick, command, began, time.monotonic() - started)
    document["preflight"] = checked.as_dict()
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


def _run_guarded(
    scenario: Scenario, spec: str, run_dir: Path, seed: int, tell: Callable[[str], None]
) -> RunOutcome:
    """Run one scenario; a failure of the harness itself makes it *unknown*, and the run goes on.

    The scenario's processes and mounts are already cleaned up by the runner's own ``finally``;
    what is lost is this scenario's verdict, which the report says, with the cause to report.
    """
    try:
        return run_scenario(scenario, spec, run_dir, seed, tell)
    except HarnessError:
        raise  # a configuration error: the whole run stops with its message
    except Exception as error:
        where = traceback.extract_tb(error.__traceback__)[-1]
        reason = (
            f"the harness itself failed ({type(error).__name__}: {error} at "
            f"{Path(where.filename).name}:{where.lineno}); this is a jobharness bug, please "
            "report it with this run folder"
        )
        return RunOutcome(scenario, run_dir, [], applicable=False, reason=reason, unknown=True)


def judge_outcome(scenario: Scenario, outcome: RunOutcome, out_dir: Path) -> ScenarioReport:
    checks: list[CheckResult] = []
    if outcome.applicable and outcome.records:
        checks = run_checkers(scenario.checkers, History(outcome.records))
    standing, reason = standing_of(outcome)
    return ScenarioReport(
        name=scenario.name,
        description=scenario.description,
        kind=scenario.kind,
        roles=tuple(sorted(scenario.roles())),
        checkers=scenario.checkers,
        applicable=outcome.applicable,
        reason=reason,
        notes=outcome.notes,
        duration=outcome.duration,
        history=os.fspath((outcome.run_dir / "history.jsonl").relative_to(out_dir)),
        checks=checks,
        standing=standing,
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
    if previous.get("preflight", {}).get("ok") is False:
        # No scenario ran: there is no history to re-judge, and the preflight's reason stands.
        write_reports(run_dir, previous)
        return previous
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
                entry.get("standing", ""),
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
            r.name,
            r.roles,
            {c.name: c for c in r.checks},
            r.checkers,
            r.applicable,
            r.status_and_reason[1],
            r.standing,
        )
        for r in reports
    ]
    criteria = evaluate_all(checks)
    verdict = verdict_of(criteria)
    replay = command or (
        f"jobharness verify --store {spec} --seed {seed}" + (" --quick" if quick else "")
    )
    return {
        "tool": "jobharness",
        "format": 2,
        "verdict": verdict,
        "reason": verdict_reason(verdict, criteria, reports),
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


def verdict_reason(
    verdict: str, criteria: list[CriterionResult], reports: list[ScenarioReport] = ()
) -> str:
    """One sentence saying why the run got its verdict (the CLI's last line repeats it).

    For *unknown*, the first scenario that could not be judged and why: the first thing a
    reader must fix (install strace, say) before the run can mean anything.
    """
    named = {
        status: [c.id for c in criteria if c.status == status] for status in (FAIL, UNKNOWN, PASS)
    }
    if verdict == FAIL:
        return f"{', '.join(named[FAIL])} failed"
    if verdict == UNKNOWN and named[UNKNOWN]:
        why = next(
            (f"{r.name}: {r.status_and_reason[1]}" for r in reports if r.status == UNKNOWN), ""
        )
        if len(why) > 160:
            why = why[:157] + "..."
        return f"{', '.join(named[UNKNOWN])} could not be judged" + (f" ({why})" if why else "")
    if verdict == UNKNOWN:
        return "no criterion was judged"
    return f"{', '.join(named[PASS])} passed"


def write_reports(out_dir: Path, document: dict[str, Any]) -> None:
    from harness.report.markdown import render_report_markdown

    (out_dir / "report.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    (out_dir / "report.md").write_text(render_report_markdown(document))


def _save_scenario_meta(run_dir: Path, report: ScenarioReport) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "scenario.json").write_text(json.dumps(report.as_dict(), indent=2, default=str))


def _status_word(status: str) -> str:
    return {FAIL: "FAIL", UNKNOWN: "UNKNOWN"}.get(status, status)
