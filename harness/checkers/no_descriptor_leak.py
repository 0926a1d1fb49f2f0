"""No descriptor leak: the open-descriptor count of a process does not grow with its store calls.

Every store process runs under a lowered open-files limit (``harness.client.descriptors``, 256) and
records how many descriptors it has open, every 16 store calls. A store that opens a file per
save and never closes it climbs by one per save until every ``open`` fails with ``EMFILE``. A
correct store may hold a few descriptors for good (a database and its WAL, a socket, one lock
file per job it touched), so the count may rise early and then stay flat. The check asks whether
it is *still* rising: in each process with enough calls to judge,

* the count grew by more than :data:`GROWTH_SLACK` between the sample half-way through the
  process's calls and its last sample (a cache bounded by the jobs touched is flat by then), or
* the count reached the limit (within :data:`LIMIT_MARGIN`), or a sample could not be taken
  because no descriptor was left (``EMFILE``): the leak's end state, where the count is flat
  because every further ``open`` fails.

A leak hurts two criteria, and the evidence says which: at the limit ``get_job`` raises (C2:
the service's HTTP 500) and ``save_job`` fails (C6: the write is lost).
"""

from __future__ import annotations

from harness.checkers.result import CheckResult, evidence_fields
from harness.history.log import History

GROWTH_SLACK = 8  # descriptors a process may add in the second half of its calls
LIMIT_MARGIN = 4  # a count this close to the limit has run out: the next opens fail
MIN_CALLS = 48  # fewer store calls than this in a process prove nothing either way
CONSEQUENCE = (
    "at the limit every open() fails with EMFILE: get_job raises (C2, an HTTP 500) "
    "and save_job fails (C6, a lost write)"
)


def check_no_descriptor_leak(history: History) -> CheckResult:
    samples: dict[str, list[dict[str, object]]] = {}
    for op in history.of("fds"):
        if isinstance(op.value, dict):
            samples.setdefault(op.process, []).append(op.value)
    if not samples:
        return CheckResult("no_descriptor_leak", None, "no descriptor counts in this history")
    judged: list[str] = []
    leaks: list[str] = []
    for process, points in sorted(samples.items()):
        verdict = _judge_process(process, points)
        if verdict is None:
            continue
        judged.append(process)
        if verdict:
            leaks.append(verdict)
    counts = {"processes": len(judged), "leaking": len(leaks)}
    if not judged:
        return CheckResult(
            "no_descriptor_leak",
            None,
            f"no process made {MIN_CALLS} store calls: too few to tell a leak from a cache",
            counts,
        )
    if leaks:
        return CheckResult(
            "no_descriptor_leak",
            False,
            f"{_processes(len(leaks))} of {len(judged)} leaked descriptors: {leaks[0]}",
            counts,
            **evidence_fields(leaks),
        )
    return CheckResult(
        "no_descriptor_leak",
        True,
        f"open descriptors stayed flat in all {_processes(len(judged))} judged",
        counts,
    )


def _judge_process(process: str, points: list[dict[str, object]]) -> str | None:
    """``""`` when the process is fine, the evidence when it leaks, None when it proves nothing."""
    points = sorted(points, key=lambda point: _int(point.get("calls")))
    last_calls = _int(points[-1].get("calls"))
    limit = _int(points[0].get("limit"))
    exhausted = [point for point in points if point.get("error")]
    if exhausted:
        calls = _int(exhausted[0].get("calls"))
        return (
            f"{process}: no descriptor left after {calls} store calls (limit {limit}): "
            f"{exhausted[0].get('error')}; {CONSEQUENCE}"
        )
    counted = [point for point in points if isinstance(point.get("open"), int)]
    peak = max(counted, key=lambda point: _int(point.get("open")), default=None)
    if peak is not None and _int(peak.get("open")) >= limit - LIMIT_MARGIN > 0:
        return (
            f"{process}: {counted[0].get('open')} open descriptors after opening the store, "
            f"{peak.get('open')} after {peak.get('calls')} store calls: at the limit ({limit}); "
            f"{CONSEQUENCE}"
        )
    if last_calls < MIN_CALLS or len(counted) < 3:
        return None
    first, last = counted[0], counted[-1]
    middle = min(counted, key=lambda point: abs(_int(point.get("calls")) - last_calls / 2))
    late_growth = _int(last.get("open")) - _int(middle.get("open"))
    if late_growth > GROWTH_SLACK:
        return (
            f"{process}: {first.get('open')} open descriptors after opening the store, "
            f"{middle.get('open')} after {middle.get('calls')} store calls, {last.get('open')} "
            f"after {last.get('calls')} (limit {limit}): the count grows with the operations, "
            f"a descriptor leak; {CONSEQUENCE}"
        )
    return ""


def _processes(count: int) -> str:
    return f"{count} process" + ("" if count == 1 else "es")


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
