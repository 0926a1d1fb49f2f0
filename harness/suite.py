"""A verification run: scenarios against one store, then checkers, criteria and the report.

:func:`verify` is what ``jobharness verify`` and ``jobharness run`` do; :func:`analyze` re-judges
a saved run from its histories without running anything. Both return the run's
:class:`~harness.results.RunReport` and save it. Layout of a run folder::

    reports/verify-hardened-20261128-193000/
        report.json   report.md
        scenarios/<name>/history.jsonl     the merged history: the evidence
        scenarios/<name>/scenario.json     the scenario's result: what analyze re-judges it by
        scenarios/<name>/processes/*.jsonl per-process histories, strace-*.log fault traces
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from harness.checkers import run_checkers
from harness.criteria import ScenarioChecks, evaluate_all, unknown_results
from harness.errors import ConfigError, HarnessError
from harness.history.log import History, load_history
from harness.report.markdown import render_report_markdown
from harness.results import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    UNKNOWN,
    CriterionResult,
    Preflight,
    RunReport,
    ScenarioResult,
    load_run,
)
from harness.results.provenance import current_commit, machine_info
from harness.results.status import verdict_of
from harness.results.trend import append_run, verify_figures
from harness.runner import RunOutcome, run_scenario
from harness.scenario.loader import Scenario
from harness.store.preflight import run_preflight

QUICK_FACTOR = 0.35


# Operations that are store calls: a history with none of them judged no store at all.
STORE_CALLS = ("save", "get", "update", "recover", "crash_state", "get_recovering")
SERVICE_CALLS = ("submit", "status", "download")  # a service run's requests, over HTTP


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
    if not any(record.f in STORE_CALLS + SERVICE_CALLS for record in outcome.records):
        return UNKNOWN, "the history holds no store call or request: nothing was judged"
    return "", outcome.reason


Progress = Callable[[str, int, int, str], None]  # (scenario, index, total, message)


class Target(Protocol):
    """What a run verifies: a store (by its spec) or a running service (harness.service.target)."""

    @property
    def label(self) -> str: ...  # what the report names ("hardened", "builtin:file")

    @property
    def noun(self) -> str: ...  # what it is, in a sentence: "store" or "service"

    def preflight(self) -> Preflight:
        """Can it be opened, written and read back at all? (no scenario runs if not)"""

    def run(
        self, scenario: Scenario, run_dir: Path, seed: int, progress: Callable[[str], None]
    ) -> RunOutcome:
        """Run one scenario against it; the history lands in ``run_dir``."""

    def replay(self, seed: int, quick: bool) -> str:
        """The command line that runs this verification again."""


@dataclass(frozen=True)
class StoreTarget:
    """A job store named by its spec, verified through its Python interface."""

    spec: str
    noun = "store"

    @property
    def label(self) -> str:
        return self.spec

    def preflight(self) -> Preflight:
        return run_preflight(self.spec)

    def run(
        self, scenario: Scenario, run_dir: Path, seed: int, progress: Callable[[str], None]
    ) -> RunOutcome:
        return run_scenario(scenario, self.spec, run_dir, seed, progress)

    def replay(self, seed: int, quick: bool) -> str:
        return f"jobharness verify --store {self.spec} --seed {seed}" + (
            " --quick" if quick else ""
        )


def verify(
    scenarios: Sequence[Scenario],
    spec: str | Target,
    out_dir: Path,
    seed: int,
    *,
    quick: bool = False,
    command: str = "",
    progress: Progress | None = None,
    trend: bool = True,
) -> RunReport:
    """Run ``scenarios`` against ``spec`` (a store spec, or a :class:`Target`); write
    report.json and report.md in ``out_dir``, and (``trend``) its line in the trend log.

    Phases: the store's preflight (:mod:`harness.store.preflight`: a store that cannot be opened,
    written and read back runs no scenario; the report says *unknown*, and why), each scenario
    run and judged in turn (Ctrl-C or SIGTERM: a partial report), the report, the trend line.
    """
    target = StoreTarget(spec) if isinstance(spec, str) else spec
    label, replay = target.label, target.replay(seed, quick)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    began = datetime.now(UTC).isoformat(timespec="seconds")
    if progress:
        progress("preflight", 0, len(scenarios), "opening the store")
    preflight = target.preflight()
    if not preflight.ok:
        report = _preflight_failed(
            label, seed, quick, command, began, started, preflight, target.noun
        )
        report = dataclasses.replace(report, replay=command or replay)
        write_reports(out_dir, report)
        return report
    results: list[ScenarioResult] = []
    interrupted: KeyboardInterrupt | None = None
    try:
        _run_all(scenarios, target, out_dir, seed, quick, progress, results)
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: a partial report, then stop
        interrupted, finished = stop, len(results)
        results += _not_judged(scenarios[finished:], out_dir, stop)  # unknown, said why
        stopped = f"interrupted by {str(stop) or 'Ctrl-C'} after {finished} of {len(scenarios)}"
    duration = time.monotonic() - started
    report = build_report(results, label, seed, quick, command, began, duration, preflight)
    reason = f"{stopped} scenarios: {report.reason}" if interrupted else report.reason
    report = dataclasses.replace(report, replay=command or replay, reason=reason)
    write_reports(out_dir, report)
    if interrupted:
        raise interrupted
    if not trend:
        return report
    append_run(
        "verify",
        verify_figures(report),
        directory=out_dir,
        store=label,
        verdict=report.verdict,
        commit=report.commit,
        machine=report.machine,
    )
    return report


def _run_all(
    scenarios: Sequence[Scenario],
    target: Target,
    out_dir: Path,
    seed: int,
    quick: bool,
    progress: Progress | None,
    results: list[ScenarioResult],
) -> None:
    """Run and judge each scenario in turn, appending to ``results`` as each one finishes."""
    for index, scenario in enumerate(scenarios, 1):
        if quick:
            scenario = scenario.scaled(QUICK_FACTOR)

        def tell(message: str, scenario: Scenario = scenario, index: int = index) -> None:
            if progress:
                progress(scenario.name, index, len(scenarios), message)

        results.append(_run_and_judge(scenario, target, out_dir, seed, tell))


def _not_judged(
    scenarios: Sequence[Scenario], out_dir: Path, stop: BaseException
) -> list[ScenarioResult]:
    """The scenarios a stopped run did not finish: unknown, never a pass."""
    why = f"not judged: the run was interrupted ({str(stop) or 'Ctrl-C'}) before it finished"
    return [
        judge_outcome(
            scenario,
            RunOutcome(scenario, out_dir / "scenarios" / scenario.name, [], applicable=False,
                       reason=why, unknown=True),
            out_dir,
        )
        for scenario in scenarios
    ]  # fmt: skip


def _preflight_failed(
    spec: str,
    seed: int,
    quick: bool,
    command: str,
    began: str,
    started: float,
    preflight: Preflight,
    noun: str = "store",
) -> RunReport:
    """The report of a run whose store failed the preflight: every criterion unknown, why."""
    reason = f"the {noun} failed the preflight, no scenario ran: {preflight.reason}"
    report = build_report([], spec, seed, quick, command, began, time.monotonic() - started)
    return dataclasses.replace(
        report,
        verdict=UNKNOWN,
        reason=reason,
        preflight=preflight,
        criteria=tuple(unknown_results(reason)),
    )


def _run_and_judge(
    scenario: Scenario, target: Target, out_dir: Path, seed: int, tell: Callable[[str], None]
) -> ScenarioResult:
    """One scenario: run it, judge its history, save its scenario.json, say how it went.

    A scenario with a ``seed`` of its own (a failure a hunt found) runs with it, so that it
    replays as it was found.
    """
    run_dir = out_dir / "scenarios" / scenario.name
    seed = scenario.seed if scenario.seed is not None else seed
    outcome = _run_guarded(scenario, target, run_dir, seed, tell)
    result = judge_outcome(scenario, outcome, out_dir)
    _save_scenario_result(run_dir, result)
    tell(_status_word(result.status))
    return result


def _run_guarded(
    scenario: Scenario, target: Target, run_dir: Path, seed: int, tell: Callable[[str], None]
) -> RunOutcome:
    """Run one scenario; a failure of the harness itself makes it *unknown*, and the run goes on.

    The scenario's processes and mounts are already cleaned up by the runner's own ``finally``;
    what is lost is this scenario's verdict, which the report says, with the cause to report.
    """
    try:
        return target.run(scenario, run_dir, seed, tell)
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


def judge_outcome(scenario: Scenario, outcome: RunOutcome, out_dir: Path) -> ScenarioResult:
    """The result of one scenario run: the runner's standing, then its checkers' verdicts."""
    checks = []
    if outcome.applicable and outcome.records:
        checks = run_checkers(scenario.checkers, History(outcome.records))
    standing, reason = standing_of(outcome)
    return ScenarioResult.judged(
        name=scenario.name,
        description=scenario.description,
        kind=scenario.kind,
        roles=sorted(scenario.roles()),
        checkers=scenario.checkers,
        applicable=outcome.applicable,
        standing=standing,
        reason=reason,
        notes=outcome.notes,
        duration=outcome.duration,
        history=os.fspath((outcome.run_dir / "history.jsonl").relative_to(out_dir)),
        checks=checks,
    )


def analyze(run_dir: Path) -> RunReport:
    """Re-judge a saved run from its histories alone and rewrite its reports.

    Each scenario named in report.json is re-judged from its own folder: the checkers, roles and
    standing its ``scenario.json`` saved (report.json's entry for runs without one), run again
    on its ``history.jsonl``. A run whose store failed the preflight has no history: its report
    is kept as it is.
    """
    previous = load_run(run_dir)
    if not isinstance(previous, RunReport):
        raise ConfigError(
            f"{run_dir}: a bench run; analyze re-judges a folder a verify or run command wrote"
        )
    if previous.preflight_failed:
        write_reports(run_dir, previous)
        return previous
    results = [_rejudge(run_dir, saved) for saved in previous.scenarios]
    report = build_report(
        results,
        previous.store,
        previous.seed,
        previous.quick,
        previous.command,
        previous.started or datetime.now(UTC).isoformat(timespec="seconds"),
        previous.duration_s,
        previous.preflight,
    )
    report = dataclasses.replace(
        report, analyzed_at=datetime.now(UTC).isoformat(timespec="seconds")
    )
    write_reports(run_dir, report)
    return report


def _rejudge(run_dir: Path, listed: ScenarioResult) -> ScenarioResult:
    """One saved scenario, found by name, judged again on its saved history."""
    folder = run_dir / "scenarios" / listed.name
    saved = _saved_scenario(folder / "scenario.json", listed)
    checks = []
    if saved.applicable:
        history_file = run_dir / saved.history
        if not history_file.is_file():
            raise ConfigError(
                f"{history_file}: the history of scenario {saved.name!r} is missing; "
                "analyze needs the run folder as verify wrote it"
            )
        checks = run_checkers(saved.checkers, History(load_history(history_file)))
    result = saved.rejudged(checks)
    if folder.is_dir():
        _save_scenario_result(folder, result)
    return result


def _saved_scenario(path: Path, listed: ScenarioResult) -> ScenarioResult:
    """The scenario's own scenario.json when it is there and names it, else report.json's entry."""
    try:
        saved = ScenarioResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return listed  # a run saved without one, or with one cut short
    return saved if saved.name == listed.name else listed


def build_report(
    results: Sequence[ScenarioResult],
    spec: str,
    seed: int,
    quick: bool,
    command: str,
    started: str,
    duration: float,
    preflight: Preflight | None = None,
) -> RunReport:
    """The run's report: the criteria judged over ``results``, the verdict and why."""
    criteria = evaluate_all([ScenarioChecks.of(result) for result in results])
    verdict = verdict_of(criteria)
    replay = command or (
        f"jobharness verify --store {spec} --seed {seed}" + (" --quick" if quick else "")
    )
    return RunReport(
        store=spec,
        seed=seed,
        verdict=verdict,
        reason=verdict_reason(verdict, criteria, results),
        criteria=tuple(criteria),
        scenarios=tuple(results),
        quick=quick,
        command=command,
        replay=replay,
        started=started,
        duration_s=round(duration, 2),
        machine=machine_info(),
        commit=current_commit(),
        preflight=preflight,
    )


def verdict_reason(
    verdict: str, criteria: Sequence[CriterionResult], results: Sequence[ScenarioResult] = ()
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
        why = next((f"{r.name}: {r.reason}" for r in results if r.status == UNKNOWN), "")
        if len(why) > 160:
            why = why[:157] + "..."
        return f"{', '.join(named[UNKNOWN])} could not be judged" + (f" ({why})" if why else "")
    if verdict == UNKNOWN:
        return "no criterion was judged"
    return f"{', '.join(named[PASS])} passed"


def write_reports(out_dir: Path, report: RunReport) -> None:
    """report.json (the data) and report.md (for people) in ``out_dir``."""
    (out_dir / "report.json").write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")
    (out_dir / "report.md").write_text(render_report_markdown(report))


def _save_scenario_result(run_dir: Path, result: ScenarioResult) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "scenario.json").write_text(json.dumps(result.as_dict(), indent=2, default=str))


def _status_word(status: str) -> str:
    return {FAIL: "FAIL", UNKNOWN: "UNKNOWN"}.get(status, status)
