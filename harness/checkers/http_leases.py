"""Many instances, one store: a live instance's jobs are its own, a dead one's are rescued (C3, C6).

With two or more instances on one store, a job belongs to the instance that accepted it. When
nothing touched that instance (no kill, no pause, no failing disk) from the job's acceptance to
its end, the job must not end in error: only another instance's recovery or rescuer, wrongly
judging it abandoned, would fail it. A job of an instance that was killed must end within the
rescue bound after the kill. And no job may finish twice with different results: two different
downloads, or two different ends (done then error, or error then done).
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.http_view import TERMINAL, ServiceView, instance_of, service_view
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History

KEYS = ("failed_live", "rescue_late", "finished_twice")


def check_http_leases(history: History) -> CheckResult:
    view = service_view(history)
    if len(view.instances) < 2:
        return CheckResult("http_leases", None, "fewer than two instances in this history")
    problems: Counter[str] = Counter()
    lines: list[str] = []
    kills = view.faults.kills() if view.faults else []
    for job, submit in view.accepted.items():
        owner = instance_of(submit) or "?"
        answers = [op for op in view.of_job(job) if view.code(op) == 200]
        first_error = next((op for op in answers if view.status(op) == "error"), None)
        if first_error and not view.disturbed(owner, submit.start, first_error.end):
            problems["failed_live"] += 1
            lines.append(
                f"{first_error.describe()}: job {job} of {owner}, which no fault touched, "
                f"ended in error: {str((first_error.result or {}).get('error'))[:100]}"
            )
        ended = next((op for op in answers if view.status(op) in TERMINAL), None)
        for kill in kills:
            if view.rescue_bound is None or kill.process != owner or kill.op.start < submit.start:
                continue
            if ended is None or ended.end > kill.op.start + view.rescue_bound + _final_wait(view):
                problems["rescue_late"] += 1
                lines.append(
                    f"{submit.describe()}: job {job} of killed {owner} did not end in time"
                )
            break
        shas = {
            (op.result or {}).get("sha256")
            for op in view.of_job(job, "download")
            if view.code(op) == 200
        }
        ends = [view.status(op) for op in answers if view.status(op) in TERMINAL]
        if len(shas) > 1 or len(set(ends)) > 1:  # done then error, or error then done
            problems["finished_twice"] += 1
            lines.append(f"{submit.describe()}: job {job} finished twice with different results")
    counts = {
        "accepted": len(view.accepted),
        "instances": len(view.instances),
        **{k: problems.get(k, 0) for k in KEYS},
    }
    if problems:
        summary = f"{spread(problems)} across {plural(len(view.instances), 'instance')}"
        return CheckResult("http_leases", False, summary, counts, **evidence_fields(lines))
    summary = (
        f"{plural(len(view.accepted), 'job')} on {len(view.instances)} instances: no live "
        "instance's job failed, every dead one's ended, none finished twice"
    )
    return CheckResult("http_leases", True, summary, counts)


def _final_wait(view: ServiceView) -> float:
    """The time from the main phase to the final reads does not count against a rescue."""
    start, final = view.phases.get("restart"), view.phases.get("final")
    return (final - start) if start is not None and final is not None else 0.0
