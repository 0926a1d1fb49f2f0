"""Latency at the API: every request's seconds, in the normal phase and during faults.

Figures, not a verdict on their own (the budgets are the store's P1-P3): for ``GET /jobs/{id}``
and ``POST`` of the main phase, the count, p50 and p99 in milliseconds, split into requests no
fault touched (``normal``: no fault window open and no kill or damage within half a second) and
the others (``faults``), plus the submit throughput and how many pollers ran, and, for the
built-in service, ``get_job`` timed through its store in the same run (``store_get``). The report plots
every request over time with the fault windows shaded.
"""

from __future__ import annotations

from harness.checkers.http_view import ServiceView, instance_of, service_view
from harness.checkers.result import CheckResult
from harness.history.log import History, Operation
from harness.stats import percentile

NEAR = 0.5  # seconds around a kill or a damage that count as "during a fault"


def check_http_latency(history: History) -> CheckResult:
    view = service_view(history)
    main_start, main_end = view.phases.get("main"), view.phases.get("restart")
    if main_start is None:
        return CheckResult("http_latency", None, "the run has no main phase")
    window = [
        op
        for op in view.answers + view.submits
        if op.start >= main_start and (main_end is None or op.end <= main_end) and op.elapsed
    ]
    statuses = [op for op in window if op.f == "status"]
    if not statuses:
        return CheckResult("http_latency", None, "no status request was answered in the main phase")
    figures: dict[str, object] = {"pollers": view.pollers}
    for name, ops in (("status", statuses), ("submit", [op for op in window if op.f == "submit"])):
        normal = [op for op in ops if not _near_fault(view, op)]
        faulted = [op for op in ops if _near_fault(view, op)]
        figures[name] = {"normal": _summary(normal), "faults": _summary(faulted)}
    seconds = (main_end or max(op.end for op in window)) - main_start
    accepted = sum(1 for op in window if op.f == "submit" and op.type == "ok")
    figures["submits_per_second"] = round(accepted / seconds, 2) if seconds > 0 else None
    figures["store_get"] = view.store_reads  # the store's part of a GET, same run (built-in)
    normal = figures["status"]["normal"]  # type: ignore[index]
    summary = (
        f"GET /jobs/{{id}} p50 {normal['p50_ms']} ms, p99 {normal['p99_ms']} ms without faults "
        f"({normal['count']} requests); {figures['submits_per_second']} submits/s"
    )
    if view.store_reads:
        summary += f"; the store's get_job alone p50 {view.store_reads.get('p50_ms')} ms"
    return CheckResult("http_latency", True, summary, {"requests": len(window)}, figures=figures)


def _summary(ops: list[Operation]) -> dict[str, object]:
    values = sorted(op.elapsed or 0.0 for op in ops)
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None}
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p99_ms": round(percentile(values, 99) * 1000, 3),
    }


def _near_fault(view: ServiceView, op: Operation) -> bool:
    faults = view.faults
    if faults is None:
        return False
    instance = instance_of(op)
    for window in faults.windows:
        if window.process in (None, instance) and window.start <= op.end and op.start <= window.end:
            return True
    return any(abs(mark.op.start - op.start) <= NEAR for mark in faults.marks)
