"""Clear errors: every error the store reports names its cause.

Judged on three kinds of message: the ``error`` of an error dict returned by ``get_job``; the
``error`` of a job that ``recover()`` failed (status ``error``); and the exception a write raised
under an injected disk fault, which must name that fault (ENOSPC: "No space left on device";
EIO: "Input/output error"), so an operator reading the log knows what to fix.
"""

from __future__ import annotations

from harness.checkers import CheckResult, first_evidence, plural
from harness.checkers.raises import fault_windows, under_disk_fault
from harness.history import History

GENERIC = {"", "error", "unknown", "failed", "none", "null", "exception", "internal error"}
FAULT_WORDS = {
    "ENOSPC": ("space", "enospc", "errno 28", "full"),
    "EIO": ("input/output", "eio", "errno 5", "i/o"),
}
MIN_LENGTH = 10


def is_clear(message: object) -> bool:
    """A message that says something: a string of some length that is not a bare placeholder."""
    if not isinstance(message, str):
        return False
    text = message.strip()
    return len(text) >= MIN_LENGTH and text.lower().rstrip(".") not in GENERIC


def check_clear_errors(history: History) -> CheckResult:
    unclear: list[str] = []
    seen = 0
    for op in history.of("get"):
        result = op.result if isinstance(op.result, dict) else {}
        if result.get("kind") == "error" or (
            result.get("kind") == "job" and result.get("status") == "error"
        ):
            seen += 1
            if not is_clear(result.get("error")):
                unclear.append(
                    f"{op.describe()}: error message {result.get('error')!r} does not name a cause"
                )
    windows, full = fault_windows(history)
    injected = {
        op.value.get("process"): op.value.get("error")
        for op in history.of("diskfault")
        if isinstance(op.value, dict)
    }
    for op in history.of("save", "update"):
        if not (isinstance(op.result, dict) and op.result.get("raised")):
            continue
        seen += 1
        if not is_clear(op.error):
            unclear.append(f"{op.describe()}: the exception has no useful message")
            continue
        if under_disk_fault(op, windows, []):
            fault = injected.get(op.process)
        else:
            fault = "ENOSPC" if under_disk_fault(op, {}, full) else None
        words = FAULT_WORDS.get(fault or "", ())
        if words and not any(word in (op.error or "").lower() for word in words):
            unclear.append(
                f"{op.describe()}: raised under injected {fault} but the message does not say so"
            )
    counts = {"messages": seen, "unclear": len(unclear)}
    if not seen:
        return CheckResult(
            "clear_errors", None, "the store reported no errors in this history", counts
        )
    if unclear:
        return CheckResult(
            "clear_errors",
            False,
            f"{len(unclear)} of {plural(seen, 'error message')} do not name their cause",
            counts,
            first_evidence(unclear),
        )
    return CheckResult(
        "clear_errors", True, f"all {plural(seen, 'error message')} name their cause", counts
    )
