"""Crash backup (C7): after each power-loss state, the backup still answers for a damaged job file.

The power-loss explorer damages the job file of every state once the store has recovered and read
it, then reads again; the answer must be the version just read or the one before it.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.crash_consistency import matches_version
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History, Operation


def check_crash_backup(history: History) -> CheckResult:
    """After each power-loss state, the backup still answers for a damaged job file (C7).

    The explorer damages the job file of every state once the store has recovered and read it,
    then reads again (``result.backup``). The answer must be the version just read, or the one
    before it (``value.older`` before ``old``, ``old`` before ``new``): a power cut must not
    leave the job without a usable backup, nor with an older one. States without a job file, and
    stores that name no backup in ``paths_for``, are not judged.
    """
    judged = 0
    problems: Counter[str] = Counter()
    evidence: list[str] = []
    for op in history.of("crash_state"):
        verdict = _judge_backup(op)
        if verdict is None:
            continue
        judged += 1
        if verdict:
            kind, line = verdict
            problems[kind] += 1
            evidence.append(line)
    if not judged:
        return CheckResult(
            "crash_backup", None, "no power-loss state had a job file and a backup to judge"
        )
    counts = {"states": judged, "bad_backup": sum(problems.values()), **dict(problems)}
    if problems:
        return CheckResult(
            "crash_backup",
            False,
            f"{sum(problems.values())} of {plural(judged, 'power-loss state')} left no usable "
            f"backup ({spread(problems)})",
            counts,
            **evidence_fields(evidence),
        )
    return CheckResult(
        "crash_backup",
        True,
        f"in all {plural(judged, 'power-loss state')} the backup held the version read "
        "or the one before it",
        counts,
    )


def _judge_backup(op: Operation) -> tuple[str, str] | tuple[()] | None:
    """One power-loss state: None when it is not judged, ``()`` when its backup held, else the
    kind of problem and its evidence line."""
    value = op.value if isinstance(op.value, dict) else {}
    result = op.result if isinstance(op.result, dict) else {}
    backup, read = result.get("backup"), result.get("read")
    if not isinstance(backup, dict) or not isinstance(read, dict):
        return None
    chain = [value.get("older"), value.get("old"), value.get("new")]
    current = next(
        (k for k, version in enumerate(chain) if k and matches_version(read, version)), None
    )
    if current is None:
        return None  # the read itself was wrong: crash_consistency says so
    if chain[current - 1] is None and backup.get("kind") != "job":
        return None  # the first version of the job: no earlier one a backup could hold
    if any(matches_version(backup, version) for version in chain[current - 1 : current + 1]):
        return ()
    if backup.get("kind") != "job":
        kind = f"backup {backup.get('kind')}"
    elif any(matches_version(backup, version) for version in chain):
        kind = "backup older than the version before"
    else:
        kind = "backup neither the version read nor the one before it"
    where = f"after a power cut at {value.get('point', '?')} ({value.get('state', '')})"
    return kind, f"{op.describe()}: {kind} {where}: with the job file damaged, read {backup}"
