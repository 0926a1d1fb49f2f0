"""The rollout criteria: the seed's seven success criteria and its performance budget.

Each criterion is built from checker results across the scenarios that ran those checkers. It
passes when every relevant result passes, fails when any fails, and is *not applicable* (None)
when no scenario produced evidence for it, with the reason. The verdict of a run is "pass" when
no applicable criterion fails.

========  ======================================================  ==============================
id        the seed's words                                        judged by
========  ======================================================  ==============================
C1        No jobs stuck in "running" status forever               terminal_state (running jobs)
C2        No 500 errors from /jobs/{job_id} endpoint              never_raises (get_job)
C3        All jobs reach terminal state (done/error)              terminal_state (every job)
C4        UI download button stable and functional                no_torn_read,
                                                                  acknowledged_writes_survive
                                                                  (in scenarios with workers)
C5        Error messages clear and actionable                     clear_errors
C6        No data loss on concurrent writes                       no_torn_read,
                                                                  acknowledged_writes_survive,
                                                                  no_lost_update,
                                                                  crash_consistency,
                                                                  never_raises (writes)
C7        Backup recovery works on corruption                     recovery_to_last_good,
                                                                  crash_backup (power loss)
C8        (beyond the seed) recovery leaves no temp files         no_litter,
                                                                  crash_litter (power loss)
P1-P3     Performance budget: write, read, read on corruption     performance_budget
========  ======================================================  ==============================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.checkers import CheckResult, plural

Part = Callable[[CheckResult], tuple[bool | None, str]]


def _whole(result: CheckResult) -> tuple[bool | None, str]:
    return result.valid, result.summary


def _count_is_zero(*keys: str) -> Part:
    def part(result: CheckResult) -> tuple[bool | None, str]:
        if result.valid is None:
            return None, result.summary
        bad = sum(result.counts.get(key, 0) for key in keys)
        return bad == 0, result.summary

    return part


def _budget(name: str) -> Part:
    def part(result: CheckResult) -> tuple[bool | None, str]:
        budget = result.figures.get("budgets", {}).get(name)
        if result.valid is None or budget is None:
            return None, result.summary
        return budget.get("passed"), budget.get("text", "")

    return part


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    parts: tuple[tuple[str, Part], ...]  # (checker name, what of its result counts)
    explanation: str
    roles: tuple[str, ...] = ()  # only scenarios running one of these roles count (empty: all)


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "C1",
        'No jobs stuck in "running" status forever',
        (("terminal_state", _count_is_zero("stuck_running")),),
        "workers killed mid-job; after the restart no job may still be running",
    ),
    Criterion(
        "C2",
        "No 500 errors from /jobs/{job_id}",
        (("never_raises", _count_is_zero("get_raised", "hung")),),
        "get_job never raised or hung, whatever the faults (a raise is what became HTTP 500)",
    ),
    Criterion(
        "C3",
        "All jobs reach terminal state (done/error)",
        (("terminal_state", _whole),),
        "after the restart every job is done or error, none queued or running",
    ),
    Criterion(
        "C4",
        "UI download button stable and functional",
        (("no_torn_read", _whole), ("acknowledged_writes_survive", _whole)),
        "while workers run jobs, a reader never sees a torn job or a job go back to an older state",
        roles=("worker",),
    ),
    Criterion(
        "C5",
        "Error messages clear and actionable",
        (("clear_errors", _whole),),
        "every error dict, failed job and write exception names its cause",
    ),
    Criterion(
        "C6",
        "No data loss on concurrent writes",
        (
            ("no_torn_read", _whole),
            ("acknowledged_writes_survive", _whole),
            ("no_lost_update", _whole),
            ("crash_consistency", _whole),
            ("never_raises", _count_is_zero("write_raised_without_fault")),
        ),
        "no torn or stale read, no acknowledged write or update lost, even after kills and power cuts",
    ),
    Criterion(
        "C7",
        "Backup recovery works on corruption",
        (("recovery_to_last_good", _whole), ("crash_backup", _whole)),
        "after damage to a job file, reads return the version before it, not older, not an error",
    ),
    Criterion(
        "C8",
        "Recovery leaves no orphaned temp files (beyond the seed)",
        (("no_litter", _whole), ("crash_litter", _whole)),
        "after writers are killed mid-write, the restart removes their temp files",
    ),
    Criterion(
        "P1",
        "Write budget: atomic write +0.5 ms, backup +1 ms",
        (("performance_budget", _budget("write")),),
        "save_job p50 against naive + max(0.5 ms, the durable floor's own cost) + 1 ms",
    ),
    Criterion(
        "P2",
        "Read budget: safe read +0 ms on success",
        (("performance_budget", _budget("read")),),
        "get_job p50 within 0.1 ms of a plain read + json.loads",
    ),
    Criterion(
        "P3",
        "Corruption budget: safe read at most +250 ms",
        (("performance_budget", _budget("corruption")),),
        "get_job p99 on a damaged job file within 250 ms of a plain read",
    ),
)


@dataclass
class CriterionResult:
    id: str
    title: str
    passed: bool | None
    summary: str
    evidence: list[str]
    scenarios: dict[str, bool | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "passed": self.passed,
            "summary": self.summary,
            "evidence": self.evidence,
            "scenarios": self.scenarios,
        }


@dataclass
class ScenarioChecks:
    """What the criteria need of one scenario: its name, roles and checker results."""

    name: str
    roles: tuple[str, ...]
    results: dict[str, CheckResult]
    checkers: tuple[str, ...] = ()
    applicable: bool = True
    reason: str = ""


def evaluate(criterion: Criterion, scenarios: list[ScenarioChecks]) -> CriterionResult:
    per_scenario: dict[str, bool | None] = {}
    failures: list[str] = []
    passes: list[str] = []
    evidence: list[str] = []
    reasons: list[str] = []
    for scenario in scenarios:
        if not scenario.applicable:
            if set(scenario.checkers) & _checkers_of(criterion):
                reasons.append(f"{scenario.name}: {scenario.reason}")
            continue
        if criterion.roles and not set(criterion.roles) & set(scenario.roles):
            continue
        verdicts = []
        for checker, part in criterion.parts:
            result = scenario.results.get(checker)
            if result is None:
                continue
            passed, text = part(result)
            if result.crashed:
                passed, text = False, result.summary  # an unknown verdict must not pass a gate
            verdicts.append(passed)
            if passed is False:
                failures.append(f"{scenario.name}: {text}")
                evidence.extend(f"{scenario.name}: {line}" for line in result.evidence[:2])
            elif passed:
                passes.append(scenario.name)
        if any(v is False for v in verdicts):
            per_scenario[scenario.name] = False
        elif any(v is True for v in verdicts):
            per_scenario[scenario.name] = True
    if failures:
        return CriterionResult(
            criterion.id,
            criterion.title,
            False,
            "; ".join(failures[:4]),
            evidence[:5],
            per_scenario,
        )
    if passes:
        names = sorted(set(passes))
        return CriterionResult(
            criterion.id,
            criterion.title,
            True,
            f"passed in {plural(len(names), 'scenario')} ({', '.join(names)}): "
            f"{criterion.explanation}",
            [],
            per_scenario,
        )
    why = "; ".join(reasons[:3]) or "no scenario in this run exercised it"
    return CriterionResult(
        criterion.id, criterion.title, None, f"not applicable: {why}", [], per_scenario
    )


def evaluate_all(scenarios: list[ScenarioChecks]) -> list[CriterionResult]:
    return [evaluate(criterion, scenarios) for criterion in CRITERIA]


def verdict_of(results: list[CriterionResult]) -> str:
    return "fail" if any(result.passed is False for result in results) else "pass"


def _checkers_of(criterion: Criterion) -> set[str]:
    return {name for name, _ in criterion.parts}
