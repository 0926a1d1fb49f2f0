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
    evidence_fields,
    first_evidence,
    plural,
    spread,
)
from harness.history.log import History

__all__ = [
    "MAX_EVIDENCE",
    "CheckResult",
    "Checker",
    "evidence_fields",
    "first_evidence",
    "plural",
    "registry",
    "run_checker",
    "run_checkers",
    "spread",
]

Checker = Callable[[History], CheckResult]


def registry() -> dict[str, Checker]:
    """Every checker by name: module ``harness.checkers.<name>`` holds ``check_<name>``.

    Imported here, not at the top, so that each checker module stays a leaf that the package's
    ``__init__`` does not pull in until a checker is actually run.
    """
    from harness.checkers import (
        acknowledged_writes_survive,
        clear_errors,
        crash_backup,
        crash_consistency,
        crash_litter,
        http_clear_errors,
        http_crash_states,
        http_download_stable,
        http_last_good,
        http_latency,
        http_leases,
        http_no_5xx,
        http_no_loss,
        http_terminal,
        latency,
        never_raises,
        no_descriptor_leak,
        no_litter,
        no_lost_update,
        no_torn_read,
        performance_budget,
        recovery_spares_live_jobs,
        recovery_to_last_good,
        terminal_state,
    )

    return {
        "never_raises": never_raises.check_never_raises,
        "no_torn_read": no_torn_read.check_no_torn_read,
        "acknowledged_writes_survive": acknowledged_writes_survive.check_acknowledged_writes_survive,
        "recovery_to_last_good": recovery_to_last_good.check_recovery_to_last_good,
        "no_lost_update": no_lost_update.check_no_lost_update,
        "terminal_state": terminal_state.check_terminal_state,
        "recovery_spares_live_jobs": recovery_spares_live_jobs.check_recovery_spares_live_jobs,
        "clear_errors": clear_errors.check_clear_errors,
        "no_litter": no_litter.check_no_litter,
        "no_descriptor_leak": no_descriptor_leak.check_no_descriptor_leak,
        "latency": latency.check_latency,
        "crash_consistency": crash_consistency.check_crash_consistency,
        "crash_backup": crash_backup.check_crash_backup,
        "crash_litter": crash_litter.check_crash_litter,
        "performance_budget": performance_budget.check_performance_budget,
        "http_no_5xx": http_no_5xx.check_http_no_5xx,
        "http_terminal": http_terminal.check_http_terminal,
        "http_download_stable": http_download_stable.check_http_download_stable,
        "http_clear_errors": http_clear_errors.check_http_clear_errors,
        "http_no_loss": http_no_loss.check_http_no_loss,
        "http_last_good": http_last_good.check_http_last_good,
        "http_leases": http_leases.check_http_leases,
        "http_latency": http_latency.check_http_latency,
        "http_crash_states": http_crash_states.check_http_crash_states,
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
