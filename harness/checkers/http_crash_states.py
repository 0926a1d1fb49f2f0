"""Power loss through the API (C1-C4, C6, C7): what the service answers on each crash state.

For each state a power cut may leave its data folder in (:mod:`harness.service.powerloss`), the
service was started on it and asked for the job. A state after the ``202`` was sent must still
have the job (a 404 there is an acknowledged job lost); a state after the service had answered
``done`` must still say done and serve the same result; no state may be answered with a 5xx or
``unknown`` (a crash is not damage: the service's own writes must leave something readable), and
the service must start on every one (one that cannot start can never finish a job again).
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.http_view import service_view
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History

KEYS = ("not_started", "answered_5xx", "lost_acknowledged", "done_lost", "unknown_status")


def check_http_crash_states(history: History) -> CheckResult:
    view = service_view(history)
    states = [op for op in history.operations if op.process == "runner" and op.f == "crash-state"]
    if not states:
        return CheckResult("http_crash_states", None, "no crash state was checked in this history")
    problems: Counter[str] = Counter()
    lines: list[str] = []
    for op in states:
        state = op.value or {}
        where = f"crash state {state.get('state')} ({str(state.get('describe'))[:90]})"
        if not state.get("started"):
            problems["not_started"] += 1
            lines.append(
                f"{op.describe()}: the service did not start on {where}: {str(state.get('why'))[:120]}"
            )
            continue
        asked = [a for a in view.answers if a.process == f"crash-{state.get('state')}"]
        status = next((a for a in asked if a.f == "status"), None)
        download = next((a for a in asked if a.f == "download"), None)
        code = view.code(status) if status else None
        if status is None:
            problems["answered_5xx"] += 1
            lines.append(f"{op.describe()}: no answer to GET /jobs/{{id}} on {where}")
        elif code is not None and code >= 500:
            problems["answered_5xx"] += 1
            lines.append(f"{status.describe()}: answered {code} on {where}")
        elif code == 404:
            if state.get("acknowledged"):
                problems["lost_acknowledged"] += 1
                lines.append(
                    f"{status.describe()}: the job, acknowledged with 202, is gone on {where}"
                )
        elif view.status(status) in (None, "unknown"):
            problems["unknown_status"] += 1
            lines.append(f"{status.describe()}: answered {view.status(status)} on {where}")
        elif state.get("done_seen"):
            sha = (download.result or {}).get("sha256") if download else None
            if view.status(status) != "done" or sha != state.get("download_sha256"):
                problems["done_lost"] += 1
                lines.append(
                    f"{status.describe()}: the job was done before the cut; on {where} it is {view.status(status)}"
                )
    counts = {
        "states": len(states),
        "states_after_ack": sum(1 for op in states if (op.value or {}).get("acknowledged")),
        **{key: problems.get(key, 0) for key in KEYS},
    }
    if problems:
        summary = f"{spread(problems)} in {plural(len(states), 'crash state')}"
        return CheckResult("http_crash_states", False, summary, counts, **evidence_fields(lines))
    summary = (
        f"the service started and answered on all {plural(len(states), 'crash state')} "
        f"({counts['states_after_ack']} after the 202): no job lost, no done job undone"
    )
    return CheckResult("http_crash_states", True, summary, counts)
