"""The rollout criteria: the incident's seven success criteria and its performance budget.

Each criterion is built from checker results across the scenarios that ran those checkers. Like
Jepsen's ``valid?``, a verdict has more than two values, and what the harness did not see is
never a pass:

========  ===================================================================================
status    meaning
========  ===================================================================================
pass      at least one scenario judged it, none failed it, and none that set out to judge it
          was unknown
fail      some scenario judged it and found a violation (the evidence says where); a failure
          wins over everything else (fail ranks above unknown, which ranks above pass)
unknown   some scenario set out to judge it and could not: the machine lacked a tool it needs,
          its setup failed, its history holds no store call, a checker crashed, or the fault
          model could not follow the store. Also when scenarios set out to judge it and every
          one found nothing to judge (no damage landed, no worker was killed)
n/a       no scenario of this run sets out to judge it, or the store lacks what it needs
          (no ``update_job`` for concurrent updates): said with the reason, never a pass
========  ===================================================================================

The run's verdict is ``fail`` when any criterion fails, else ``unknown`` when any is unknown (or
none passed), else ``pass``.

========  ======================================================  ==============================
id        the incident's words                                    judged by
========  ======================================================  ==============================
C1        No jobs stuck in "running" status forever               terminal_state (running jobs);
                                                                  recover() raised, hung or died
C2        No 500 errors from /jobs/{job_id}                       never_raises (get_job raised,
                                                                  hung, or its process died);
                                                                  no_descriptor_leak (fails only)
C3        All jobs reach terminal state (done/error)              terminal_state (every job);
                                                                  recover() raised, hung or died;
                                                                  recovery_spares_live_jobs
                                                                  (live jobs failed; fails only)
C4        UI download button stable and functional                no_torn_read,
                                                                  acknowledged_writes_survive
                                                                  (in scenarios with workers)
C5        Error messages clear and actionable                     clear_errors
C6        No data loss on concurrent writes                       no_torn_read,
                                                                  acknowledged_writes_survive,
                                                                  no_lost_update,
                                                                  crash_consistency,
                                                                  never_raises (writes raised,
                                                                  hung, or their process died),
                                                                  recovery_spares_live_jobs
                                                                  (live jobs rolled back),
                                                                  no_descriptor_leak (these two
                                                                  fail only)
C7        Backup recovery works on corruption                     recovery_to_last_good,
                                                                  crash_backup (power loss)
C8        (beyond the incident) recovery leaves no temp files     no_litter,
                                                                  crash_litter (power loss)
P1-P3     Performance budget: write, read, read on corruption     performance_budget
========  ======================================================  ==============================

A service run (``verify --service``) judges the same criteria from HTTP alone, through the
``http_*`` checkers named in each criterion below (docs/service-verification.md has the table).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.checkers import CheckResult, plural
from harness.checkers.fixes import fix_for
from harness.results.status import FAIL, NOT_APPLICABLE, PASS, UNKNOWN
from harness.results.verify_report import CriterionResult, ScenarioResult

# What one part of a criterion makes of one checker result, with the sentence why: True (judged,
# held), False (judged, violated), None (it set out to judge and found nothing to judge: no damage
# landed, no worker was killed), or SILENT (this result does not bear on the criterion here: a
# scenario with no reads says nothing about C2).
SILENT = "silent"
Verdict = bool | None | str
Part = Callable[[CheckResult], tuple[Verdict, str]]


def _whole(result: CheckResult) -> tuple[Verdict, str]:
    return result.valid, result.summary


def _count_is_zero(*keys: str, judged_by: str | None = None) -> Part:
    """Pass when none of ``keys`` was counted; say nothing when ``judged_by`` counted nothing.

    ``judged_by`` names the count of operations the part is about (``gets``): a history with no
    reads says nothing about reads, whatever else the checker found.
    """

    def part(result: CheckResult) -> tuple[Verdict, str]:
        if result.valid is None:
            return None, result.summary
        bad = sum(result.counts.get(key, 0) for key in keys)
        if bad:
            return False, result.summary
        if judged_by is not None and not result.counts.get(judged_by, 0):
            return SILENT, f"no {judged_by} in this history"
        return True, result.summary

    return part


def _fails_if_counted(*keys: str) -> Part:
    """A part that can only fail: when ``keys`` were counted (e.g. recover() raised).

    Used where a checker sees one way a criterion can be broken but cannot vouch for the whole of
    it: a recover() that raised fails C1, but a recover() that returned proves no job was left
    running; that is terminal_state's to say.
    """

    def part(result: CheckResult) -> tuple[Verdict, str]:
        if sum(result.counts.get(key, 0) for key in keys):
            return False, result.summary
        return SILENT, ""

    return part


def _judged_only(result: CheckResult) -> tuple[Verdict, str]:
    """The checker's verdict when it judged something; silent when it found nothing to judge."""
    if result.valid is None:
        return SILENT, result.summary
    return result.valid, result.summary


def _fails_only(result: CheckResult) -> tuple[Verdict, str]:
    """A checker that can fail a criterion but not vouch for it (no leak is no proof of C2)."""
    if result.valid is False:
        return False, result.summary
    return SILENT, ""


def _budget(name: str) -> Part:
    def part(result: CheckResult) -> tuple[Verdict, str]:
        budget = result.figures.get("budgets", {}).get(name)
        if result.valid is None:
            return None, result.summary  # nothing was measured: the scenario's note says why
        if budget is None or budget.get("passed") is None:
            # The other budgets were measured, this one cannot be for this store (no job file
            # to damage in a database): it does not apply, and the text says so.
            return SILENT, (budget or {}).get("text", "")
        return budget.get("passed"), budget.get("text", "")

    return part


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    parts: tuple[tuple[str, Part], ...]  # (checker name, what of its result counts)
    explanation: str
    roles: tuple[str, ...] = ()  # only scenarios running one of these roles count (empty: all)


RECOVER_FAILED = ("recover_raised", "recover_hung", "died_in_recover")

CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "C1",
        'No jobs stuck in "running" status forever',
        (
            ("terminal_state", _count_is_zero("stuck_running")),
            ("never_raises", _fails_if_counted(*RECOVER_FAILED)),
            ("http_terminal", _count_is_zero("stuck_running")),
            ("http_crash_states", _fails_if_counted("not_started")),
        ),
        "workers killed mid-job; after the restart no job may still be running",
    ),
    Criterion(
        "C2",
        "No 500 errors from /jobs/{job_id}",
        (
            (
                "never_raises",
                _count_is_zero("get_raised", "get_hung", "died_in_get", judged_by="gets"),
            ),
            ("no_descriptor_leak", _fails_only),  # at the limit get_job fails with EMFILE
            (
                "http_no_5xx",
                _count_is_zero("status_5xx", "status_hung", judged_by="status_answers"),
            ),
            ("http_crash_states", _count_is_zero("answered_5xx")),
        ),
        "get_job never raised, hung or took its process down, whatever the faults "
        "(a raise is what became HTTP 500)",
    ),
    Criterion(
        "C3",
        "All jobs reach terminal state (done/error)",
        (
            ("terminal_state", _whole),
            ("never_raises", _fails_if_counted(*RECOVER_FAILED)),
            ("recovery_spares_live_jobs", _fails_if_counted("failed_live")),
            ("http_terminal", _whole),
            ("http_leases", _fails_if_counted("failed_live", "rescue_late")),
            ("http_crash_states", _fails_if_counted("not_started")),
        ),
        "after the restart every job is done or error, none queued or running",
    ),
    Criterion(
        "C4",
        "UI download button stable and functional",
        (
            ("no_torn_read", _whole),
            ("acknowledged_writes_survive", _whole),
            ("http_download_stable", _whole),
            ("http_crash_states", _count_is_zero("done_lost")),
        ),
        "while workers run jobs, a reader never sees a torn job or a job go back to an older "
        "state; a done job's download is the same bytes on every read",
        roles=("worker", "poller"),
    ),
    Criterion(
        "C5",
        "Error messages clear and actionable",
        (("clear_errors", _whole), ("http_clear_errors", _whole)),
        "every error names the job and the cause of the fault injected, and never advises "
        "retrying a permanent failure",
    ),
    Criterion(
        "C6",
        "No data loss on concurrent writes",
        (
            ("no_torn_read", _whole),
            ("acknowledged_writes_survive", _whole),
            ("no_lost_update", _whole),
            ("crash_consistency", _whole),
            (
                "never_raises",
                _fails_if_counted("write_raised_without_fault", "write_hung", "died_in_write"),
            ),
            ("recovery_spares_live_jobs", _fails_if_counted("rolled_back_live")),
            ("no_descriptor_leak", _fails_only),  # at the limit save_job fails with EMFILE
            ("http_no_loss", _whole),
            ("http_leases", _fails_if_counted("finished_twice")),
            (
                "http_crash_states",
                _count_is_zero("lost_acknowledged", "done_lost", "unknown_status"),
            ),
        ),
        "no torn or stale read, no acknowledged write or update lost, no write that raised, hung "
        "or took its process down, even after kills and power cuts",
    ),
    Criterion(
        "C7",
        "Backup recovery works on corruption",
        # crash_backup finds nothing to judge in a store with no job file and backup (SQLite):
        # there, as for the damage scenarios, C7 does not apply, rather than is unknown.
        (
            ("recovery_to_last_good", _whole),
            ("crash_backup", _judged_only),
            ("http_last_good", _whole),
        ),
        "after damage to a job file, reads return the version before it, not older, not an error",
    ),
    Criterion(
        "C8",
        "Recovery leaves no orphaned temp files (beyond the incident)",
        (("no_litter", _whole), ("crash_litter", _whole)),
        "after the restart, no file the run left is litter: each is a job's file or backup, "
        "declared by the store, or was there before the run",
    ),
    Criterion(
        "P1",
        "Write budget: atomic write +0.5 ms, backup +1 ms",
        (("performance_budget", _budget("write")),),
        "save_job p50 against naive + max(0.5 ms, the floor write's extra cost on the store's medium)"
        " + 1 ms",
    ),
    Criterion(
        "P2",
        "Read budget: safe read +0 ms on success",
        (("performance_budget", _budget("read")),),
        "get_job p50 within 0.1 ms of the floor read of the store's medium (file, or a database row)",
    ),
    Criterion(
        "P3",
        "Corruption budget: safe read at most +250 ms",
        (("performance_budget", _budget("corruption")),),
        "get_job p99 on a job file damaged every way (bit flip, garbage, empty, truncated, deleted)"
        " within 250 ms of the floor read",
    ),
)


@dataclass
class ScenarioChecks:
    """What the criteria need of one scenario: its name, roles and checker results.

    ``status`` is the scenario's own standing before its checks are read: ``n/a`` when the store
    lacks what it needs (with ``reason``), ``unknown`` when the harness could not judge it (the
    machine lacks a tool, setup failed, the history is empty, the fault model lost track), else
    empty. ``applicable=False`` is the older spelling of ``status="n/a"``.
    """

    name: str
    roles: tuple[str, ...]
    results: dict[str, CheckResult]
    checkers: tuple[str, ...] = ()
    applicable: bool = True
    reason: str = ""
    status: str = ""
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, scenario: ScenarioResult) -> ScenarioChecks:
        """What the criteria need of a scenario's result in a report."""
        return cls(
            scenario.name,
            scenario.roles,
            {check.name: check for check in scenario.checks},
            scenario.checkers,
            scenario.applicable,
            scenario.reason,
            scenario.standing,
        )

    @property
    def standing(self) -> str:
        if self.status:
            return self.status
        return "" if self.applicable else NOT_APPLICABLE


@dataclass
class _Tally:
    """What the scenarios said of one criterion, gathered by :func:`evaluate` to conclude on."""

    per_scenario: dict[str, str] = field(default_factory=dict)  # scenario -> its status here
    failures: list[str] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # scenarios whose checkers found nothing
    silent: list[str] = field(default_factory=list)  # why a result did not bear on it
    not_applicable: list[str] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)  # fix_for each failed check, once each


def evaluate(criterion: Criterion, scenarios: Sequence[ScenarioChecks]) -> CriterionResult:
    """One criterion over every scenario: see the module docstring for how statuses combine."""
    tally = _Tally()
    for scenario in scenarios:
        if criterion.roles and not set(criterion.roles) & set(scenario.roles):
            continue
        if not set(scenario.checkers or scenario.results) & _checkers_of(criterion):
            continue
        if scenario.standing == NOT_APPLICABLE:
            tally.not_applicable.append(f"{scenario.name}: {scenario.reason}")
            tally.per_scenario[scenario.name] = NOT_APPLICABLE
            continue
        _judge_scenario(criterion, scenario, tally)
    return _conclude(criterion, tally)


def _judge_scenario(criterion: Criterion, scenario: ScenarioChecks, tally: _Tally) -> None:
    """Read each part of ``criterion`` in one scenario's results, and file the scenario."""
    verdicts: list[Verdict] = []
    crashed: list[str] = []
    nothing: list[str] = []
    for checker, part in criterion.parts:
        result = scenario.results.get(checker)
        if result is None:
            continue
        if result.crashed:
            crashed.append(result.summary)  # a checker that crashed judged nothing
            continue
        verdict, text = part(result)
        if verdict == SILENT:
            if text and f"{scenario.name}: {text}" not in tally.silent:
                tally.silent.append(f"{scenario.name}: {text}")
            continue
        verdicts.append(verdict)
        if verdict is False:
            tally.failures.append(f"{scenario.name}: {text}")
            tally.evidence.extend(f"{scenario.name}: {line}" for line in result.evidence[:2])
            fix = fix_for(result)
            tally.fixes += [fix] if fix and fix not in tally.fixes else []
        elif verdict is None:
            nothing.append(text)
    if not (verdicts or crashed or not scenario.results):
        return  # its checks ran and none bears on this criterion here
    name, standing = scenario.name, scenario.standing
    if False in verdicts:
        tally.per_scenario[name] = FAIL
    elif standing == UNKNOWN or crashed:
        tally.unknowns.append(f"{name}: {scenario.reason if standing else crashed[0]}")
        tally.per_scenario[name] = UNKNOWN
    elif True in verdicts:
        tally.passes.append(name)
        tally.per_scenario[name] = PASS
    elif verdicts:
        # Its checkers found nothing to judge here (no damage landed, no worker was killed, no
        # error message to read): not a pass, but no doubt either when another scenario did.
        tally.empty.append(f"{name}: {nothing[0]}")
        tally.per_scenario[name] = NOT_APPLICABLE


def _conclude(criterion: Criterion, tally: _Tally) -> CriterionResult:
    """The criterion's status from what its scenarios said: fail, unknown, pass, then n/a."""

    def result(status: str, summary: str, evidence: Sequence[str] = ()) -> CriterionResult:
        fixes = tuple(tally.fixes) if status == FAIL else ()
        said = (criterion.id, criterion.title, status, summary, tuple(evidence))
        return CriterionResult(*said, tally.per_scenario, fixes)

    if tally.failures:
        return result(FAIL, "; ".join(tally.failures[:4]), tally.evidence[:5])
    passed_in = ", ".join(sorted(set(tally.passes)))
    if tally.unknowns:
        summary = f"unknown: not judged in {plural(len(tally.unknowns), 'scenario')} ("
        summary += "; ".join(tally.unknowns[:3]) + ")"
        summary += f"; passed in {passed_in}" if tally.passes else ""
        return result(UNKNOWN, summary)
    if tally.passes:  # scenarios that found nothing to judge here stay listed as such per scenario
        count = plural(len(set(tally.passes)), "scenario")
        return result(PASS, f"passed in {count} ({passed_in}): {criterion.explanation}")
    if tally.empty:
        found = "; ".join(tally.empty[:3])
        return result(UNKNOWN, f"unknown: no scenario found anything to judge ({found})")
    why = (
        "; ".join((tally.not_applicable + tally.silent)[:3])
        or "no scenario in this run sets out to judge it"
    )
    return result(NOT_APPLICABLE, f"not applicable: {why}")


def evaluate_all(scenarios: Sequence[ScenarioChecks]) -> list[CriterionResult]:
    return [evaluate(criterion, scenarios) for criterion in CRITERIA]


def unknown_results(reason: str) -> list[CriterionResult]:
    """Every criterion unknown for one reason: a run that could not start (the preflight failed)."""
    return [
        CriterionResult(criterion.id, criterion.title, UNKNOWN, f"unknown: {reason}")
        for criterion in CRITERIA
    ]


def _checkers_of(criterion: Criterion) -> set[str]:
    return {name for name, _ in criterion.parts}
