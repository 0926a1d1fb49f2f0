"""No torn read (C4, C6): every job a read returns was written, in full, by some writer.

No foreign content, no garbled job (a write's tag with content that differs from what that write
wrote: a flipped bit served as data), nothing that is not a dict. Reads that raised are judged by
``never_raises``, not here.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.read_verdicts import TORN, describe_verdict, judge_reads
from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History


def check_no_torn_read(history: History) -> CheckResult:
    verdicts = [v for v in judge_reads(history) if v.kind != "raised"]
    if not verdicts:
        return CheckResult("no_torn_read", None, "no reads in this history")
    bad = [v for v in verdicts if v.problem in TORN]
    counts = Counter(v.problem for v in bad)
    result_counts = {"reads": len(verdicts), **{k: counts.get(k, 0) for k in TORN}}
    if bad:
        kinds = spread(counts)
        return CheckResult(
            "no_torn_read",
            False,
            f"{plural(len(bad), 'read')} of {len(verdicts)} returned content no writer wrote ({kinds})",
            result_counts,
            **evidence_fields([describe_verdict(v) for v in bad]),
        )
    return CheckResult(
        "no_torn_read", True, f"all {len(verdicts)} reads matched a complete write", result_counts
    )
