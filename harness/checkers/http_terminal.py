"""Every accepted job ends (C1, C3): after the last restart, its final answer is done or error.

The final reads (process ``final``) poll each accepted job until it ends or the scenario's bound
passes; the job's last status answer in that phase is its verdict. ``running`` there is the
incident's "stuck in running"; ``queued`` is a job nobody will ever start.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.http_view import TERMINAL, service_view
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History


def check_http_terminal(history: History) -> CheckResult:
    view = service_view(history)
    if not view.accepted:
        return CheckResult("http_terminal", None, "no job was accepted in this history")
    final_start = view.phases.get("final")
    if final_start is None:
        return CheckResult("http_terminal", None, "the run never reached its final reads")
    finals: dict[str, list] = {}
    for op in view.answers:
        if op.process == "final" and op.f == "status" and view.code(op) == 200:
            finals.setdefault(op.job or "", []).append(op)
    problems: Counter[str] = Counter()
    lines, slowest = [], 0.0
    for job, submit in view.accepted.items():
        answers = finals.get(job)
        if not answers:
            problems["no_final_answer"] += 1
            lines.append(f"{submit.describe()}: job {job} never answered 200 in the final reads")
            continue
        last = answers[-1]
        status = view.status(last)
        if status in TERMINAL:
            first = next(op for op in answers if view.status(op) in TERMINAL)
            slowest = max(slowest, first.end - final_start)
            continue
        key = {"running": "stuck_running", "queued": "stuck_queued"}.get(
            status or "", "unknown_final"
        )
        problems[key] += 1
        lines.append(f"{last.describe()}: job {job} still {status} after the restart")
    counts = {
        "accepted": len(view.accepted),
        "terminal": len(view.accepted) - sum(problems.values()),
        **{
            k: problems.get(k, 0)
            for k in ("stuck_running", "stuck_queued", "unknown_final", "no_final_answer")
        },
    }
    figures = {"seconds_to_terminal_max": round(slowest, 3), "bound": view.final_bound}
    if problems:
        summary = (
            f"{spread(problems)} of {plural(len(view.accepted), 'accepted job')} after the restart"
        )
        return CheckResult(
            "http_terminal", False, summary, counts, figures=figures, **evidence_fields(lines)
        )
    summary = (
        f"all {plural(len(view.accepted), 'accepted job')} ended (done or error), the last "
        f"{slowest:.2f} s into the final reads"
    )
    return CheckResult("http_terminal", True, summary, counts, figures=figures)
