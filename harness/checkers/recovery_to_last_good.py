"""Recovery to the last good version (C7): after damage, reads return the version before it.

After the nemesis damaged a job file (or its backup, or both), reads must return the version the
damage destroyed or, once a save replaced it, a newer one; never an older one, and never an error
while an intact backup exists.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.read_verdicts import RECOVERY, TORN, describe_verdict, judge_reads
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History


def check_recovery_to_last_good(history: History) -> CheckResult:
    damages = [
        op
        for op in history.of("damage")
        if isinstance(op.result, dict) and op.result.get("applied")
    ]
    if not damages:
        return CheckResult("recovery_to_last_good", None, "no damage was applied in this history")
    verdicts = [v for v in judge_reads(history) if v.in_damage_window]
    after = [v for v in verdicts if v.after_damage]
    bad = [
        v
        for v in verdicts
        if v.problem in RECOVERY or (v.after_damage and v.problem in (*TORN, "raised"))
    ]
    counts = Counter(v.problem for v in bad)
    result_counts = {
        "damages": len(damages),
        "reads_after_damage": len(after),
        **{k: counts.get(k, 0) for k in (*RECOVERY, *TORN, "raised")},
    }
    if not after:
        return CheckResult(
            "recovery_to_last_good",
            None,
            f"{plural(len(damages), 'damage')} applied but no read came after one before a save replaced the file",
            result_counts,
        )
    if bad:
        kinds = spread(counts)
        return CheckResult(
            "recovery_to_last_good",
            False,
            f"{plural(len(bad), 'read')} of {len(verdicts)} during or after damage did not "
            f"recover the last good version ({kinds})",
            result_counts,
            **evidence_fields([describe_verdict(v) for v in bad]),
        )
    return CheckResult(
        "recovery_to_last_good",
        True,
        f"{plural(len(damages), 'damage')}; all {len(after)} reads after them returned the last good version "
        "or, with no intact copy left, an error",
        result_counts,
    )
