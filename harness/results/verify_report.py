"""The records of a verify run: its report, each scenario's result and each criterion's verdict.

``jobharness verify`` (and ``run``) builds a :class:`RunReport` and saves it as ``report.json``;
``analyze``, ``report``, ``gate`` and the trend read it back with :func:`harness.results.load_run`.
Every record is frozen and goes to and from the JSON object saved for it (``as_dict`` /
``from_dict``), keeping the keys reports have always had, so saved runs, the committed baseline
and users' scripts keep working::

    RunReport                         report.json
      criteria: CriterionResult       "criteria": [{"id": "C1", "status": "pass", ...}]
      scenarios: ScenarioResult       "scenarios": [{"name": ..., "checks": [...]}]
        checks: CheckResult             (harness.checkers.result)
      preflight: Preflight            "preflight": {"ok": true, ...}

>>> verdict = CriterionResult("C8", "no litter", "pass", "passed in 1 scenario", (), {"a": "pass"})
>>> CriterionResult.from_dict(verdict.as_dict()) == verdict, verdict.passed
(True, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checkers.result import CheckResult
from harness.results.status import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    STATUSES,
    UNKNOWN,
    passed_flag,
    status_of,
)

REPORT_TOOL = "jobharness"
REPORT_FORMAT = 2


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's verdict over a run, with the one line why (``summary``) and the evidence.

    ``scenarios`` maps each scenario that bore on it to its status there; ``evidence`` holds the
    first offending operations, each line prefixed by its scenario (``damage-job-file: op #2023
    ...``).
    """

    id: str
    title: str
    status: str  # pass | fail | unknown | n/a
    summary: str
    evidence: tuple[str, ...] = ()
    scenarios: dict[str, str] = field(default_factory=dict)
    fixes: tuple[str, ...] = ()
    """For a failed criterion, the "likely cause -> fix" line of each kind of failure found."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", tuple(self.evidence))
        object.__setattr__(self, "fixes", tuple(self.fixes))

    @property
    def passed(self) -> bool | None:
        """True for pass, False for fail, None otherwise (unknown or n/a: see ``status``)."""
        return passed_flag(self.status)

    def explained(self) -> list[str]:
        """The lines that say what went wrong: status, summary, first evidence, fixes."""
        lines = [f"{self.id} {self.title}: {self.status.upper()}", f"  {self.summary}"]
        lines += [f"  first: {self.evidence[0]}"] if self.evidence else []
        return lines + [f"  fix: {fix}" for fix in self.fixes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "passed": self.passed,
            "summary": self.summary,
            "evidence": list(self.evidence),
            "scenarios": dict(self.scenarios),
            "fixes": list(self.fixes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CriterionResult:
        return cls(
            str(data["id"]),
            str(data.get("title", "")),
            status_of(data.get("passed"), data.get("status")),
            str(data.get("summary", "")),
            tuple(data.get("evidence") or ()),
            dict(data.get("scenarios") or {}),
            tuple(data.get("fixes") or ()),
        )


def scenario_status(
    standing: str, applicable: bool, reason: str, checks: Sequence[CheckResult]
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


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's part of a report: what ran, what the runner said, what the checkers found.

    ``standing`` is what the runner said before any checker ran: ``n/a`` (the store lacks what
    the scenario needs), ``unknown`` (the harness could not run or follow it) or empty;
    ``status`` and ``reason`` add what the checks found (:func:`scenario_status`). Build one
    with :meth:`judged`, which works them out; ``history`` is relative to the run folder.
    """

    name: str
    description: str
    kind: str
    roles: tuple[str, ...]
    checkers: tuple[str, ...]
    applicable: bool
    standing: str
    status: str
    reason: str
    notes: tuple[str, ...]
    duration: float  # seconds, as saved (to the millisecond)
    history: str
    checks: tuple[CheckResult, ...]

    @classmethod
    def judged(
        cls,
        *,
        name: str,
        description: str,
        kind: str,
        roles: Sequence[str],
        checkers: Sequence[str],
        applicable: bool,
        standing: str,
        reason: str,
        notes: Sequence[str],
        duration: float,
        history: str,
        checks: Sequence[CheckResult],
    ) -> ScenarioResult:
        """The result of a scenario whose runner said ``standing``/``reason`` and checks found
        ``checks``: its status is worked out here."""
        status, why = scenario_status(standing, applicable, reason, checks)
        return cls(
            name,
            description,
            kind,
            tuple(roles),
            tuple(checkers),
            applicable,
            standing,
            status,
            why,
            tuple(notes),
            round(duration, 3),
            history,
            tuple(checks),
        )

    def rejudged(self, checks: Sequence[CheckResult]) -> ScenarioResult:
        """The same scenario with new checker results (``jobharness analyze``).

        The runner's own reason stands only where the runner gave one (the scenario was n/a or
        unknown before its checks); a reason the old checks gave (a crashed checker) goes.
        """
        runner_said = self.standing or not self.applicable
        status, why = scenario_status(
            self.standing, self.applicable, self.reason if runner_said else "", checks
        )
        return dataclasses.replace(self, status=status, reason=why, checks=tuple(checks))

    @property
    def passed(self) -> bool | None:
        return passed_flag(self.status)

    def check(self, name: str) -> CheckResult | None:
        """The result of checker ``name``, if it ran."""
        return next((check for check in self.checks if check.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "roles": list(self.roles),
            "checkers": list(self.checkers),
            "applicable": self.applicable,
            "standing": self.standing,
            "reason": self.reason,
            "notes": list(self.notes),
            "duration_s": self.duration,
            "history": self.history,
            "checks": [check.as_dict() for check in self.checks],
            "status": self.status,
            "passed": self.passed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioResult:
        """A saved scenario; one saved before ``status`` existed gets it worked out again."""
        checks = tuple(CheckResult.from_dict(check) for check in data.get("checks") or ())
        standing = str(data.get("standing", ""))
        applicable = bool(data.get("applicable", True))
        reason = str(data.get("reason", ""))
        status = data.get("status")
        if status not in STATUSES:
            status, reason = scenario_status(standing, applicable, reason, checks)
        return cls(
            str(data["name"]),
            str(data.get("description", "")),
            str(data.get("kind", "concurrent")),
            tuple(data.get("roles") or ()),
            tuple(data.get("checkers") or ()),
            applicable,
            standing,
            str(status),
            reason,
            tuple(data.get("notes") or ()),
            float(data.get("duration_s", 0.0)),
            str(data.get("history", "")),
            checks,
        )


@dataclass(frozen=True)
class Preflight:
    """What the store's preflight found (:mod:`harness.store.preflight`), as the report saves it."""

    ok: bool
    step: str = ""
    reason: str = ""
    took_s: float = 0.0
    capabilities: dict[str, bool] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "step": self.step,
            "reason": self.reason,
            "took_s": self.took_s,
            "capabilities": dict(self.capabilities),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preflight:
        return cls(
            bool(data.get("ok", True)),
            str(data.get("step", "")),
            str(data.get("reason", "")),
            float(data.get("took_s", 0.0)),
            dict(data.get("capabilities") or {}),
        )


@dataclass(frozen=True)
class RunReport:
    """A verify (or run) report: the verdict and why, every criterion, every scenario.

    ``folder`` is where the report was loaded from or written to (not saved in the file):
    scenario histories are relative to it. ``preflight`` is None in reports written before the
    preflight existed; ``analyzed_at`` is set when ``jobharness analyze`` re-judged the run.
    """

    store: str
    seed: int
    verdict: str
    reason: str
    criteria: tuple[CriterionResult, ...]
    scenarios: tuple[ScenarioResult, ...]
    quick: bool = False
    command: str = ""
    replay: str = ""
    started: str = ""  # ISO 8601, to the second
    duration_s: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)
    commit: str | None = None
    preflight: Preflight | None = None
    analyzed_at: str | None = None
    format: int = REPORT_FORMAT
    folder: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", tuple(self.criteria))
        object.__setattr__(self, "scenarios", tuple(self.scenarios))

    @property
    def preflight_failed(self) -> bool:
        """The store failed its preflight: no scenario ran, and the preflight's reason stands."""
        return self.preflight is not None and not self.preflight.ok

    def scenario(self, name: str) -> ScenarioResult | None:
        return next((s for s in self.scenarios if s.name == name), None)

    def criterion(self, criterion_id: str) -> CriterionResult | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)

    def failure_message(self) -> str:
        """What a test failure should say: each failed or unknown criterion with its summary,
        first evidence line and fix, then the replay command and where the report is."""
        lines = [f"jobharness verdict: {self.verdict.upper()} for {self.store}: {self.reason}"]
        for criterion in self.criteria:
            lines += criterion.explained() if criterion.status in ("fail", "unknown") else []
        if self.replay:
            lines.append(f"replay: {self.replay}")
        if self.folder is not None:
            lines.append(f"report: {self.folder / 'report.html'}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of report.json, its keys in the order they have always had."""
        document: dict[str, Any] = {
            "tool": REPORT_TOOL,
            "format": self.format,
            "verdict": self.verdict,
            "reason": self.reason,
            "store": self.store,
            "seed": self.seed,
            "quick": self.quick,
            "command": self.command,
            "replay": self.replay,
            "started": self.started,
            "duration_s": self.duration_s,
            "machine": dict(self.machine),
            "commit": self.commit,
            "criteria": [criterion.as_dict() for criterion in self.criteria],
            "scenarios": [scenario.as_dict() for scenario in self.scenarios],
        }
        if self.preflight is not None:
            document["preflight"] = self.preflight.as_dict()
        if self.analyzed_at is not None:
            document["analyzed_at"] = self.analyzed_at
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], folder: Path | None = None) -> RunReport:
        preflight = data.get("preflight")
        machine = data.get("machine")
        return cls(
            store=str(data.get("store", "?")),
            seed=int(data.get("seed", 0)),
            verdict=str(data.get("verdict", UNKNOWN)),
            reason=str(data.get("reason", "")),
            criteria=tuple(CriterionResult.from_dict(c) for c in data["criteria"]),
            scenarios=tuple(ScenarioResult.from_dict(s) for s in data["scenarios"]),
            quick=bool(data.get("quick", False)),
            command=str(data.get("command", "")),
            replay=str(data.get("replay", "")),
            started=str(data.get("started", "")),
            duration_s=float(data.get("duration_s", 0.0)),
            machine=dict(machine) if isinstance(machine, dict) else {},
            commit=data.get("commit"),
            preflight=Preflight.from_dict(preflight) if isinstance(preflight, dict) else None,
            analyzed_at=data.get("analyzed_at"),
            format=int(data.get("format", REPORT_FORMAT)),
            folder=folder,
        )
