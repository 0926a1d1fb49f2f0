"""Error messages are clear and actionable (C5), as the service's users read them.

Every error text the service gave is read: a job's error (status error or unknown) and the body
of every 4xx/5xx answer. A text is unclear when it is empty, shorter than 12 characters, or a
bare generic phrase ("Internal Server Error", an exception class alone). A job error first seen
while the harness was failing the disk (ENOSPC, EIO), or within two seconds after, and before
the restart, by an instance that did not die meanwhile, must also name that cause, by its errno name
or its message ("No space left on device"): the user must know to free the disk, not to retry.
"""

from __future__ import annotations

import errno
import os
import re

from harness.checkers.http_view import ServiceView, instance_of, service_view
from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.log import History, Operation

GENERIC = re.compile(
    r"^\W*(internal server error|server error|error|failed|failure|bad request|not found|"
    r"service unavailable|[A-Za-z]*(Error|Exception))\W*$",
    re.IGNORECASE,
)
MINIMUM = 12
SEEN_WITHIN = 2.0  # seconds after a disk fault's window in which a job's error is still its doing


def check_http_clear_errors(history: History) -> CheckResult:
    view = service_view(history)
    read, unclear = 0, []
    named_once: set[str] = set()
    for op in view.answers + view.submits:
        text, job_error = _error_text(view.code(op), view.status(op), op)
        if text is None:
            continue
        read += 1
        problem = _unclear(text)
        if problem is None and job_error and op.job and op.job not in named_once:
            named_once.add(op.job)
            problem = _missing_cause(view, op, text)
        if problem:
            unclear.append(f"{op.describe()}: {problem}: {text[:120]!r}")
    counts = {"errors_read": read, "unclear": len(unclear)}
    if not read:
        return CheckResult(
            "http_clear_errors", None, "the service gave no error message to read", counts
        )
    if unclear:
        summary = f"{plural(len(unclear), 'unclear error')} of {read} read"
        return CheckResult("http_clear_errors", False, summary, counts, **evidence_fields(unclear))
    return CheckResult(
        "http_clear_errors", True, f"{plural(read, 'error message')} named a cause", counts
    )


def _error_text(code: int | None, status: str | None, op: Operation) -> tuple[str | None, bool]:
    result = op.result if isinstance(op.result, dict) else {}
    if code == 200 and status in ("error", "unknown"):
        return str(result.get("error") or result.get("body") or ""), True
    if code is not None and code >= 400:
        return str(result.get("body") or ""), False
    return None, False


def _unclear(text: str) -> str | None:
    if len(text.strip()) < MINIMUM:
        return "too short to say what happened"
    if GENERIC.match(text.strip()) or GENERIC.match(_detail(text)):
        return "a generic phrase that names no cause"
    return None


def _detail(text: str) -> str:
    match = re.search(r'"(?:detail|error|message)"\s*:\s*"([^"]*)"', text)
    return match.group(1) if match else text


def _missing_cause(view: ServiceView, op: Operation, text: str) -> str | None:
    """The injected errno this job error should name, when the job lived through its window."""
    instance = instance_of(op)
    submit = view.accepted.get(op.job or "")
    born = submit.start if submit else op.start
    windows = view.faults.windows if view.faults else ()
    restart = view.phases.get("restart", float("inf"))
    owner = (instance_of(submit) if submit else None) or instance
    if op.end >= restart or view.ended_between(owner, born, op.end):
        # Seen after the restart, or after its instance died: the service that wrote this error
        # is the one that found the job interrupted, and cannot know what killed its owner.
        return None
    for window in windows:
        # Seen while the disk was failing (or just after: the poll that shows it comes later).
        seen_then = window.start <= op.end <= window.end + SEEN_WITHIN and born <= window.end
        if window.errno and window.process in (None, instance) and seen_then:
            number = getattr(errno, window.errno, None)
            words = [window.errno, os.strerror(number) if number else window.errno]
            if any(word.lower() in text.lower() for word in words):
                return None
            return f"does not name the injected {window.errno}"
    return None
