"""The incident's performance budget, judged against floors measured in the same run.

The incident promised: atomic write +0.5 ms and backup +1 ms per update; safe read +0 ms on success
and at most +250 ms on corruption. Those were absolute guesses for one machine. Here each is
judged against what this machine cannot avoid *on the store's own medium*, measured in the same
run, interleaved with the store's calls (see :mod:`harness.timing` and :mod:`harness.floors`):

* **write budget** (P1): ``save`` p50 <= ``naive_save`` p50 + max(0.5 ms, floor_write p50 -
  naive_save p50) + 1.0 ms. The incident's 0.5 ms for atomicity is widened to what a durable write
  really costs here: a disk whose fsync alone takes longer than the incident's guess must not fail
  every store. The 1 ms for the backup stays.
* **read budget** (P2): ``get`` p50 <= floor_read p50 + 0.1 ms ("+0 ms" at the incident's
  millisecond resolution).
* **corruption budget** (P3): the p99 of ``get_recovering`` over every damage kind together
  (bit flip, garbage, empty, truncate, delete) <= floor_read p50 + 250 ms. The figures keep each
  kind's p50 and p99 too, so a report shows *which* damage is slow.

The floor is the file's (durable replace, plain read) unless the store declared another medium;
the history's ``floor`` event says which, and every budget's text names it::

    get p50 0.160 ms within budget 0.231 ms (1.2x the postgresql floor)

Ratios to the floors are reported beside every figure.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.result import CheckResult
from harness.history.log import FAIL, OK, History, Operation
from harness.stats import percentile, summarize_ms

ATOMIC_MS, BACKUP_MS, READ_MS, CORRUPTION_MS = 0.5, 1.0, 0.1, 250.0
MEASURED = ("floor_write", "floor_read", "naive_save", "naive_get", "save", "get", "get_recovering")
FILE_FLOOR = {  # what a history recorded before floors were per medium measured
    "medium": "file",
    "declared_by": "default",
    "write": "durable replace of a file: temp file, write, fsync, rename, fsync of the directory",
    "read": "plain file read: open, read, json.loads",
}


def latency_figures(history: History) -> dict[str, dict[str, float]]:
    """p50/p95/p99/max of each measured call of the timer, in milliseconds."""
    return {
        name: summarize_ms([op.latency for op in _measured(history, name)]) for name in MEASURED
    }


def recovering_by_damage(history: History) -> dict[str, dict[str, float]]:
    """The damaged reads' figures per damage kind (``bitflip``, ``garbage``, ...)."""
    kinds: dict[str, list[float]] = {}
    for op in _measured(history, "get_recovering"):
        how = op.value.get("how") if isinstance(op.value, dict) else None
        kinds.setdefault(str(how or "truncate"), []).append(op.latency)  # old runs: truncation
    return {kind: summarize_ms(spans) for kind, spans in sorted(kinds.items())}


def floor_of(history: History) -> dict[str, Any]:
    """The floor the timer measured, as its ``floor`` event recorded it."""
    event = history.first("floor")
    return dict(event.value) if event is not None and isinstance(event.value, dict) else FILE_FLOOR


def check_performance_budget(history: History) -> CheckResult:
    figures = latency_figures(history)
    if not figures["save"].get("count") or not figures["floor_write"].get("count"):
        # Not judged: the history's "unknown" event (which makes the scenario unknown) says why.
        reasons = [
            op.value.get("reason") for op in history.of("unknown") if isinstance(op.value, dict)
        ]
        why = reasons[0] if reasons else None
        text = "no latency measurements in this history"
        return CheckResult("performance_budget", None, f"{text}: {why}" if why else text)
    floor = floor_of(history)
    medium = str(floor.get("medium", "file"))
    p50 = {name: _p(history, name, 50) for name in figures}
    budgets: dict[str, Any] = {}
    write_limit = (
        p50["naive_save"] + max(ATOMIC_MS, p50["floor_write"] - p50["naive_save"]) + BACKUP_MS
    )
    budgets["write"] = _budget(p50["save"], write_limit, "save p50", p50["floor_write"], medium)
    budgets["read"] = _budget(
        p50["get"], p50["floor_read"] + READ_MS, "get p50", p50["floor_read"], medium
    )
    by_damage = recovering_by_damage(history)
    budgets["corruption"] = _corruption_budget(history, p50["floor_read"], medium, by_damage)
    ratios = {
        "save_to_floor_write": _ratio(p50["save"], p50["floor_write"]),
        "get_to_floor_read": _ratio(p50["get"], p50["floor_read"]),
        "save_to_naive_save": _ratio(p50["save"], p50["naive_save"]),
    }
    judged = [b for b in budgets.values() if b["passed"] is not None]
    failed = [b for b in judged if not b["passed"]]
    summary = "; ".join(b["text"] for b in budgets.values())
    summary += f"; floor: {medium} ({_floor_words(floor)})"
    return CheckResult(
        "performance_budget",
        (not failed) if judged else None,
        summary,
        {name: int(fig.get("count", 0)) for name, fig in figures.items()},
        [b["text"] for b in failed],
        figures={
            "latency": figures,
            "recovering_by_damage": by_damage,
            "floor": floor,
            "budgets": budgets,
            "ratios": ratios,
        },
    )


def _corruption_budget(
    history: History, floor_read: float, medium: str, by_damage: dict[str, dict[str, float]]
) -> dict[str, Any]:
    if not by_damage:
        skipped = next((op for op in history.of("get_recovering") if op.type != OK), None)
        why = skipped.value.get("skipped") if skipped and isinstance(skipped.value, dict) else None
        return {"passed": None, "text": f"not measured: {why or 'no damaged read was timed'}"}
    p99 = _p(history, "get_recovering", 99)
    budget = _budget(
        p99, floor_read + CORRUPTION_MS, "get on a damaged file p99", floor_read, medium
    )
    kinds = ", ".join(
        f"{kind} p50 {fig['p50_ms']:.3f} p99 {fig['p99_ms']:.3f} ms"
        for kind, fig in by_damage.items()
    )
    budget["text"] += f" [{kinds}]"
    if not budget["passed"]:
        slow = [kind for kind, fig in by_damage.items() if fig["p99_ms"] > budget["limit_ms"]]
        budget["text"] += f"; over budget on: {', '.join(slow) or 'the kinds together'}"
    return budget


def _floor_words(floor: dict[str, Any]) -> str:
    who = "declared by the store" if floor.get("declared_by") == "store" else "the default"
    return f"{who}; write: {floor.get('write')}; read: {floor.get('read')}"


def _p(history: History, name: str, p: float) -> float:
    values = [op.latency * 1000 for op in _measured(history, name)]
    return percentile(values, p) if values else float("nan")


def _measured(history: History, name: str) -> list[Operation]:
    """The timer's timed calls of ``name`` (the setup process's first saves are not samples).

    Calls that returned; for damaged reads also those that raised: the caller waited for them
    just the same (that a read raised is C2's to judge, how long it took is P3's).
    """
    kinds = (OK, FAIL) if name == "get_recovering" else (OK,)
    return [
        op
        for op in history.of(name)
        if op.type in kinds and op.process.startswith("timer") and op.elapsed is not None
    ]


def _budget(value: float, limit: float, what: str, floor: float, medium: str) -> dict[str, Any]:
    passed = value <= limit
    ratio = _ratio(value, floor)
    verb = "within" if passed else f"OVER by {value - limit:.3f} ms:"
    return {
        "passed": passed,
        "value_ms": round(value, 4),
        "limit_ms": round(limit, 4),
        "ratio_to_floor": ratio,
        "floor": medium,
        "text": f"{what} {value:.3f} ms {verb} budget {limit:.3f} ms ({ratio}x the {medium} floor)",
    }


def _ratio(value: float, floor: float) -> float | None:
    if not floor or floor != floor or value != value:
        return None
    return round(value / floor, 3)
