"""No 5xx from ``GET /jobs/{id}`` (C2), judged from the answers a browser would have seen.

Every status answer with a 5xx code is a failure, except one of the profile's outage codes
(503) while the harness was making an outage on the instance asked (an injected ENOSPC/EIO, a
full disk) or restarting every instance: there "come back later" is the right answer. A status
request that got no answer in time is a hang, which a user sees as an error page too. A 5xx from
a submit or a download is reported (evidence, ``other_5xx``) but judged by the criteria it bears
on (a download that fails is C4's).
"""

from __future__ import annotations

from harness.checkers.http_view import service_view
from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.log import INFO, History, Operation


def check_http_no_5xx(history: History) -> CheckResult:
    view = service_view(history)
    statuses = [op for op in view.answers if op.f == "status"]
    hung = [op for op in history.of("status") if op.type == INFO]
    if not statuses and not hung:
        return CheckResult("http_no_5xx", None, "no GET /jobs/{id} was answered in this history")
    bad, other, allowed = [], [], 0
    for op in view.answers + [op for op in view.submits if op.type == "ok" or op.type == "fail"]:
        code = view.code(op)
        if code is None or code < 500:
            continue
        if code in view.outage_codes and view.in_outage(op):
            allowed += 1
        elif op.f == "status":
            bad.append(f"{op.describe()}: answered {code}: {_body(op)}")
        else:
            other.append(f"{op.describe()}: answered {code}: {_body(op)}")
    lines = bad + [f"{op.describe()}: no answer (a hang)" for op in hung]
    counts = {
        "status_answers": len(statuses),
        "status_5xx": len(bad),
        "status_hung": len(hung),
        "other_5xx": len(other),
        "outage_answers": allowed,
    }
    also = f"; {plural(len(other), 'other 5xx')} (submit/download)" if other else ""
    if lines:
        summary = f"{plural(len(bad), 'status read')} answered 5xx, {len(hung)} hung{also}"
        return CheckResult("http_no_5xx", False, summary, counts, **evidence_fields(lines + other))
    summary = f"no 5xx in {plural(len(statuses), 'status answer')}"
    summary += (
        f" ({allowed} x {'/'.join(map(str, view.outage_codes))} during outages)" if allowed else ""
    )
    return CheckResult("http_no_5xx", True, summary + also, counts, evidence=other[:5])


def _body(op: Operation) -> str:
    return str((op.result or {}).get("body") or "")[:120]
