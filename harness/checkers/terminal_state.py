"""Terminal state: after the restart, every job is done or error.

The incident's first complaint: jobs stuck in "running" forever after a worker died. Killing workers
mid-job is the fault; the restart (``recover()``, as at application start-up) is the cure. The
final reads then show each job's status; a job never created (its worker died before the first
save) is fine, a job left ``queued`` or ``running`` is not. A store without ``recover()`` fails
as soon as a job is left unfinished: nothing else can bring it to an end.
"""

from __future__ import annotations

from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.log import OK, History, Operation

TERMINAL = ("done", "error")


def check_terminal_state(history: History) -> CheckResult:
    scenario = history.first("scenario")
    roles = (scenario.value or {}).get("roles", []) if scenario else []
    if "worker" not in roles:
        return CheckResult("terminal_state", None, "no workers ran jobs in this history")
    finals = [
        op for op in history.of("get") if isinstance(op.value, dict) and op.value.get("final")
    ]
    if not finals:
        return CheckResult(
            "terminal_state", None, "no final reads (the run did not reach its final phase)"
        )
    killed = [
        op
        for op in history.of("kill")
        if isinstance(op.value, dict) and str(op.value.get("process", "")).startswith("worker")
    ]
    if not killed:
        return CheckResult(
            "terminal_state",
            None,
            "no worker was killed in this run, so no job was left unfinished: the check proves nothing",
        )
    recover = history.first("recover")
    has_recover = recover is not None and not (
        isinstance(recover.value, dict) and recover.value.get("absent")
    )
    stuck, statuses = _final_statuses(finals)
    counts = {
        "jobs": len(finals),
        "stuck": len(stuck),
        **{f"status_{k}": v for k, v in statuses.items()},
    }
    counts["stuck_running"] = sum(1 for s in stuck if "'running'" in s)
    if stuck:
        why = (
            ""
            if has_recover
            else " (the store has no recover(): nothing ends a job a dead worker left)"
        )
        return CheckResult(
            "terminal_state",
            False,
            f"{len(stuck)} of {plural(len(finals), 'job')} not done or error after the restart{why}",
            counts,
            **evidence_fields(stuck),
        )
    spread = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    return CheckResult(
        "terminal_state", True, f"every job reached a terminal state ({spread})", counts
    )


def _final_statuses(finals: list[Operation]) -> tuple[list[str], dict[str, int]]:
    """The evidence of each job not terminal after the restart, and how many had each status."""
    stuck: list[str] = []
    statuses: dict[str, int] = {}
    for op in finals:
        result = op.result if isinstance(op.result, dict) else {}
        kind = result.get("kind")
        if op.type != OK:
            status = "raised"
        elif kind == "none":
            status = "never created"
        elif kind == "job":
            status = str(result.get("status"))
        else:
            status = kind or "invalid"
        statuses[status] = statuses.get(status, 0) + 1
        if status not in TERMINAL and status != "never created":
            stuck.append(f"{op.describe()}: job {op.job} is {status!r} after the restart")
    return stuck, statuses
