"""Checkers: invariants judged on a saved history alone.

A checker is a function ``check(history) -> CheckResult``. It imports nothing but the history
model, so a saved run can always be re-judged (``jobharness analyze``). Like Jepsen's, verdicts
have three values: ``True`` (valid), ``False`` (invalid, with the first offending operations as
evidence) and ``None`` (not applicable to this history, or the checker itself failed: a crashing
checker yields *unknown*, never a crash of the run).

>>> result = run_checker("never_raises", history)        # doctest: +SKIP
>>> result.valid, result.summary                         # doctest: +SKIP
(False, 'get_job raised 12 times (first: op #88 reader-1 get(j0) -> fail: JSONDecodeError...)')
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from harness.checkers.result import (
    MAX_EVIDENCE,
    CheckResult,
    first_evidence,
    plural,
    spread,
)
from harness.history import History

__all__ = [
    "MAX_EVIDENCE",
    "CheckResult",
    "Checker",
    "first_evidence",
    "plural",
    "registry",
    "run_checker",
    "run_checkers",
    "spread",
]

Checker = Callable[[History], CheckResult]


def registry() -> dict[str, Checker]:
    """Every checker by name (imported here so each module stays a leaf)."""
    from harness.checkers import (
        crash,
        descriptors,
        errors,
        latency,
        lifecycle,
        litter,
        performance,
        raises,
        reads,
        recovery,
        updates,
    )

    return {
        "never_raises": raises.check_never_raises,
        "no_torn_read": reads.check_no_torn_read,
        "acknowledged_writes_survive": reads.check_acknowledged_writes_survive,
        "recovery_to_last_good": reads.check_recovery_to_last_good,
        "no_lost_update": updates.check_no_lost_update,
        "terminal_state": lifecycle.check_terminal_state,
        "recovery_spares_live_jobs": recovery.check_recovery_spares_live_jobs,
        "clear_errors": errors.check_clear_errors,
        "no_litter": litter.check_no_litter,
        "no_descriptor_leak": descriptors.check_no_descriptor_leak,
        "latency": latency.check_latency,
        "crash_consistency": crash.check_crash_consistency,
        "crash_backup": crash.check_crash_backup,
        "crash_litter": crash.check_crash_litter,
        "performance_budget": performance.check_performance_budget,
    }


def run_checker(name: str, history: History) -> CheckResult:
    """Run one checker; a checker that crashes yields an *unknown* verdict with the traceback."""
    try:
        return registry()[name](history)
    except Exception as error:
        last = traceback.format_exception(error)[-3:]
        return CheckResult(
            name,
            None,
            f"checker crashed: {type(error).__name__}: {error}",
            evidence=last,
            crashed=True,
        )


def run_checkers(names: list[str] | tuple[str, ...], history: History) -> list[CheckResult]:
    return [run_checker(name, history) for name in names]
