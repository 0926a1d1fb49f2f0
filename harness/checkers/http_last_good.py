"""After damage, the API serves the job's last good state (C7).

The harness damaged a job's file under the data folder (truncated, emptied, garbage, a flipped
digit, deleted) at time t. From then on every status answer for that job must be 200 with a
known status: never a 5xx, never ``unknown`` while one intact copy remained (only one of the job
file and its backup was damaged), and, for a job already seen done or error before t, that same
status: a backup one version old is acceptable for a running job, not for a finished one.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.http_view import TERMINAL, service_view
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History

KEYS = ("errors_after_damage", "unknown_after_damage", "rolled_back")


def check_http_last_good(history: History) -> CheckResult:
    view = service_view(history)
    damages = view.faults.damages() if view.faults else []
    if not damages:
        return CheckResult("http_last_good", None, "no damage was applied in this history")
    problems: Counter[str] = Counter()
    lines: list[str] = []
    reads = 0
    for mark in damages:
        job, at = mark.job or "", mark.op.end
        answers = view.of_job(job)
        before = [
            view.status(op) for op in answers if op.end < mark.op.start and view.code(op) == 200
        ]
        finished = next((s for s in reversed(before) if s in TERMINAL), None)
        for op in answers:
            if op.start < at:
                continue
            reads += 1
            code, status = view.code(op), view.status(op)
            what = f"job {job} after {mark.how} of {', '.join(mark.files)}"
            if code != 200 and not (code in view.outage_codes and view.in_outage(op)):
                problems["errors_after_damage"] += 1
                lines.append(f"{op.describe()}: {what}: answered {code}")
            elif code == 200 and status in (None, "unknown") and len(mark.files) == 1:
                problems["unknown_after_damage"] += 1
                lines.append(
                    f"{op.describe()}: {what}: answered {status or 'no known status'} with an intact copy left"
                )
            elif code == 200 and finished and status != finished:
                problems["rolled_back"] += 1
                lines.append(f"{op.describe()}: {what}: {status}, though it was {finished} before")
    counts = {
        "damages": len(damages),
        "reads_after_damage": reads,
        **{k: problems.get(k, 0) for k in KEYS},
    }
    if not reads:
        return CheckResult(
            "http_last_good",
            None,
            f"{plural(len(damages), 'damage')}, but no status read after any",
            counts,
        )
    if problems:
        summary = (
            f"{spread(problems)} in {plural(reads, 'read')} after {plural(len(damages), 'damage')}"
        )
        return CheckResult("http_last_good", False, summary, counts, **evidence_fields(lines))
    summary = f"{plural(reads, 'read')} after {plural(len(damages), 'damage')} answered the last good state"
    return CheckResult("http_last_good", True, summary, counts)
