"""Acknowledged writes survive (C6): no read returns less than what the store acknowledged.

Outside damage windows, no read returns a version older than an acknowledged write, and no
acknowledged job vanishes or becomes unreadable: after kills, disk faults and restarts alike (the
final reads after the restart are judged like any other, and a job lost there is lost for good).
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.read_verdicts import DURABILITY, describe_verdict, is_final_read, judge_reads
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History


def check_acknowledged_writes_survive(history: History) -> CheckResult:
    verdicts = [v for v in judge_reads(history) if not v.in_damage_window]
    if not verdicts:
        return CheckResult("acknowledged_writes_survive", None, "no reads outside damage windows")
    bad = [
        v
        for v in verdicts
        if v.problem in DURABILITY or (v.problem == "raised" and is_final_read(v))
    ]
    final = [v for v in verdicts if is_final_read(v)]
    counts = Counter(v.problem for v in bad)
    result_counts = {
        "reads": len(verdicts),
        "final_reads": len(final),
        **{k: counts.get(k, 0) for k in (*DURABILITY, "raised")},
    }
    if bad:
        kinds = spread(counts)
        final_bad = sum(1 for v in bad if is_final_read(v))
        summary = f"{plural(len(bad), 'read')} lost an acknowledged write ({kinds})"
        if final_bad:
            summary += (
                f"; {final_bad} of {len(final)} jobs lost it for good (final reads after restart)"
            )
        return CheckResult(
            "acknowledged_writes_survive",
            False,
            summary,
            result_counts,
            **evidence_fields([describe_verdict(v) for v in bad]),
        )
    return CheckResult(
        "acknowledged_writes_survive",
        True,
        f"{len(verdicts)} reads, none older than an acknowledged write; {len(final)} jobs intact after restart",
        result_counts,
    )
