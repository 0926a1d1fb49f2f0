"""No acknowledged job is lost (C6): after a 202, the job never answers 404, its result never 410.

A job the service accepted exists from then on: a status or download answer of 404 for it is a
lost job, and a done job's download answering 404 or 410 (result gone) is a lost result. A job
answering ``unknown`` (the service cannot read it) although the harness damaged none of its files
lost its state too.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.http_view import service_view
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History

KEYS = ("lost", "result_lost", "unknown_without_damage")


def check_http_no_loss(history: History) -> CheckResult:
    view = service_view(history)
    if not view.accepted:
        return CheckResult("http_no_loss", None, "no job was accepted in this history")
    damaged = {mark.job for mark in view.faults.damages()} if view.faults else set()
    done_at: dict[str, float] = {}
    problems: Counter[str] = Counter()
    lines: list[str] = []
    for op in view.answers:
        job = op.job or ""
        submit = view.accepted.get(job)
        if submit is None or op.start < submit.end:
            continue
        code, status = view.code(op), view.status(op)
        if op.f == "status" and code == 200 and status == "done":
            done_at.setdefault(job, op.end)
        if code == 404 and op.f == "status":
            problems["lost"] += 1
            lines.append(f"{op.describe()}: job {job}, accepted at {submit.end:.3f}s, answered 404")
        elif (
            op.f == "download" and code in (404, 410) and job in done_at and op.start > done_at[job]
        ):
            problems["result_lost"] += 1
            lines.append(f"{op.describe()}: done job {job}'s result answered {code}")
        elif op.f == "status" and code == 200 and status == "unknown" and job not in damaged:
            problems["unknown_without_damage"] += 1
            lines.append(
                f"{op.describe()}: job {job} answered unknown, and none of its files was damaged"
            )
    counts = {"accepted": len(view.accepted), **{k: problems.get(k, 0) for k in KEYS}}
    if problems:
        summary = f"{spread(problems)} among {plural(len(view.accepted), 'accepted job')}"
        return CheckResult("http_no_loss", False, summary, counts, **evidence_fields(lines))
    summary = f"none of {plural(len(view.accepted), 'accepted job')} was lost or lost its result"
    return CheckResult("http_no_loss", True, summary, counts)
