"""Latency: p50/p95/p99/max of each store call in a scenario, and of reads that had to recover.

Figures only: this checker never fails a run (budgets are judged by ``performance_budget`` on a
quiet measurement, not on a run full of faults). Only the time inside the store call counts:
the history's invoke and completion are taken right around it. A *recovering* read is one that
began after damage to its job file and before a save replaced the file.
"""

from __future__ import annotations

from harness.checkers.read_verdicts import judge_reads
from harness.checkers.result import CheckResult
from harness.history.log import OK, History
from harness.stats import summarize_ms

MAIN_PHASE_ROLES = ("writer", "reader", "updater", "worker")


def check_latency(history: History) -> CheckResult:
    figures: dict[str, dict[str, float]] = {}
    for f in ("save", "get", "update"):
        spans = [
            op.latency
            for op in history.of(f)
            if op.type == OK and op.process.split("-")[0] in MAIN_PHASE_ROLES
        ]
        if spans:
            figures[f] = summarize_ms(spans)
    recovering = [v.op.latency for v in judge_reads(history) if v.after_damage and v.op.type == OK]
    if recovering:
        figures["get_recovering"] = summarize_ms(recovering)
    recover = [op.latency for op in history.of("recover") if op.type == OK]
    if recover:
        figures["recover"] = summarize_ms(recover)
    if not figures:
        return CheckResult("latency", None, "no completed store calls to measure")
    parts = [
        f"{name} p50 {fig['p50_ms']:.3f} ms p99 {fig['p99_ms']:.3f} ms"
        for name, fig in figures.items()
    ]
    return CheckResult(
        "latency",
        True,
        "; ".join(parts),
        {name: int(fig["count"]) for name, fig in figures.items()},
        figures=figures,
    )
