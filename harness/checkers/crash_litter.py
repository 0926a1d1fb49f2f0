"""Crash litter (C8): after each power-loss state and ``recover()``, no file the store never had.

A temp file whose rename a power cut undid, whatever its name, must be removed by ``recover()``;
restarts after power cuts would otherwise pile them up.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.log import History


def check_crash_litter(history: History) -> CheckResult:
    """After each power-loss state and ``recover()``, no file is left that the store never had.

    ``result.litter`` lists the files present after ``recover()`` that the store had neither
    before nor after the traced operation (a temp file whose rename was lost, whatever its
    name). Any is litter (C8): restarts after power cuts would pile them up.
    """
    judged = 0
    bad = 0
    evidence: list[str] = []
    names: Counter[str] = Counter()
    for op in history.of("crash_state"):
        value = op.value if isinstance(op.value, dict) else {}
        result = op.result if isinstance(op.result, dict) else {}
        litter = result.get("litter")
        if not isinstance(litter, list):
            continue
        judged += 1
        if litter:
            bad += 1
            names.update(litter)
            where = f"after a power cut at {value.get('point', '?')} ({value.get('state', '')})"
            evidence.append(f"{op.describe()}: recover() left {', '.join(litter)} {where}")
    if not judged:
        return CheckResult("crash_litter", None, "no power-loss state was inventoried")
    counts = {"states": judged, "littered": bad}
    if bad:
        return CheckResult(
            "crash_litter",
            False,
            f"{bad} of {plural(judged, 'power-loss state')} kept files the store never had "
            f"after recover() ({plural(len(names), 'name')}: {', '.join(sorted(names)[:3])})",
            counts,
            **evidence_fields(evidence),
        )
    return CheckResult(
        "crash_litter",
        True,
        f"recover() left no stray file in any of {plural(judged, 'power-loss state')}",
        counts,
    )
