"""The read checkers: no torn read, acknowledged writes survive, recovery to the last good version.

All three judge every read with the per-job register model (:mod:`harness.checkers.model`) and
split the verdicts by cause:

* **no torn read**: every job a read returns was written, in full, by some writer: no foreign
  content, no garbled job (a tag whose content differs: a flipped bit served as data), nothing
  that is not a dict;
* **acknowledged writes survive**: outside damage windows, no read returns a version older than
  an acknowledged write, and no acknowledged job vanishes or becomes unreadable (after kills,
  disk faults, restarts: the final reads are judged like any other);
* **recovery to the last good version**: after damage to a job file, reads return the version
  before the damaged one (not older), and not an error while an intact backup exists.
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.model import ReadVerdict, build_models
from harness.checkers.result import CheckResult, first_evidence, plural, spread
from harness.history import History

TORN = ("foreign", "garbled", "invalid")
DURABILITY = ("stale", "lost", "unreadable", "future")
RECOVERY = ("older_than_backup", "backup_not_used", "no_backup")


def judge_reads(history: History) -> list[ReadVerdict]:
    """Every read of the history, judged once and cached on the history."""
    if "read_verdicts" not in history.cache:
        verdicts = []
        for model in build_models(history).values():
            verdicts.extend(model.judge(read) for read in model.reads)
        verdicts.sort(key=lambda verdict: verdict.op.index)
        history.cache["read_verdicts"] = verdicts
    return history.cache["read_verdicts"]


def _describe(verdict: ReadVerdict) -> str:
    return f"{verdict.op.describe()}: {verdict.problem}: {verdict.detail}"


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
            first_evidence([_describe(v) for v in bad]),
        )
    return CheckResult(
        "no_torn_read", True, f"all {len(verdicts)} reads matched a complete write", result_counts
    )


def check_acknowledged_writes_survive(history: History) -> CheckResult:
    verdicts = [v for v in judge_reads(history) if not v.in_damage_window]
    if not verdicts:
        return CheckResult("acknowledged_writes_survive", None, "no reads outside damage windows")
    bad = [
        v for v in verdicts if v.problem in DURABILITY or (v.problem == "raised" and _is_final(v))
    ]
    final = [v for v in verdicts if _is_final(v)]
    counts = Counter(v.problem for v in bad)
    result_counts = {
        "reads": len(verdicts),
        "final_reads": len(final),
        **{k: counts.get(k, 0) for k in (*DURABILITY, "raised")},
    }
    if bad:
        kinds = spread(counts)
        final_bad = sum(1 for v in bad if _is_final(v))
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
            first_evidence([_describe(v) for v in bad]),
        )
    return CheckResult(
        "acknowledged_writes_survive",
        True,
        f"{len(verdicts)} reads, none older than an acknowledged write; {len(final)} jobs intact after restart",
        result_counts,
    )


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
            f"{plural(len(bad), 'read')} of {len(after)} after damage did not recover the last good version ({kinds})",
            result_counts,
            first_evidence([_describe(v) for v in bad]),
        )
    return CheckResult(
        "recovery_to_last_good",
        True,
        f"{plural(len(damages), 'damage')}; all {len(after)} reads after them returned the last good version "
        "or, with no intact copy left, an error",
        result_counts,
    )


def _is_final(verdict: ReadVerdict) -> bool:
    return isinstance(verdict.op.value, dict) and bool(verdict.op.value.get("final"))
