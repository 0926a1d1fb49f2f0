"""The download button is stable (C4): once done, a job stays done and serves one result.

For each job a status answer showed ``done``: no later status answer may show it queued, running
or error (a job never goes back from done); every later download must answer 200 (a 503 during
an outage the harness made is allowed; a request to an instance that was down is no answer at
all, not a failure); every 200 download of the job must be the same bytes; and where the harness
knows the expected result (the built-in service: computed from the upload) it must be those.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.http_view import service_view
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History

KEYS = ("went_back", "download_failed", "download_changed", "wrong_result")


def check_http_download_stable(history: History) -> CheckResult:
    view = service_view(history)
    done_at: dict[str, float] = {}
    for op in view.answers:
        if op.f == "status" and view.code(op) == 200 and view.status(op) == "done" and op.job:
            done_at.setdefault(op.job, op.end)
    if not done_at:
        return CheckResult("http_download_stable", None, "no job was seen done in this history")
    problems: Counter[str] = Counter()
    lines: list[str] = []
    downloads = 0
    for job, seen in done_at.items():
        first_sha: str | None = None
        for op in view.answers:
            if op.job != job or op.start < seen:
                continue
            code, result = view.code(op), op.result or {}
            if (
                op.f == "status"
                and code == 200
                and view.status(op) in ("queued", "running", "error")
            ):
                problems["went_back"] += 1
                lines.append(f"{op.describe()}: job {job} went back from done to {view.status(op)}")
            elif op.f == "download":
                downloads += 1
                if code != 200:
                    if not (code in view.outage_codes and view.in_outage(op)):
                        problems["download_failed"] += 1
                        lines.append(
                            f"{op.describe()}: the download of done job {job} answered {code}"
                        )
                    continue
                sha = result.get("sha256")
                expected = view.expected.get(job)
                if expected and sha != expected:
                    problems["wrong_result"] += 1
                    lines.append(
                        f"{op.describe()}: job {job}'s download ({result.get('bytes')} bytes) is not "
                        "the enrichment of its upload"
                    )
                if first_sha is None:
                    first_sha = sha
                elif sha != first_sha:
                    problems["download_changed"] += 1
                    lines.append(f"{op.describe()}: job {job}'s download changed between two reads")
    counts = {
        "done_jobs": len(done_at),
        "downloads": downloads,
        **{k: problems.get(k, 0) for k in KEYS},
    }
    if problems:
        summary = f"{spread(problems)} among {plural(len(done_at), 'done job')}"
        return CheckResult("http_download_stable", False, summary, counts, **evidence_fields(lines))
    checked = f", {len(view.expected)} checked against the expected result" if view.expected else ""
    summary = (
        f"{plural(len(done_at), 'done job')} stayed done; {plural(downloads, 'download')} "
        f"answered the same bytes{checked}"
    )
    return CheckResult("http_download_stable", True, summary, counts)
