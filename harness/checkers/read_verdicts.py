"""Every read of a history judged once against the per-job register model, for the read checkers.

:func:`judge_reads` runs the model of :mod:`harness.checkers.model` over each job's reads and
caches the verdicts on the history, so ``no_torn_read``, ``acknowledged_writes_survive``,
``recovery_to_last_good`` (and the latency and recovery checkers, and the report's timeline)
share one judgement. The problem names fall in three families:

* **torn** (``{TORN}``): content no writer wrote in full;
* **durability** (``{DURABILITY}``): an acknowledged write missing or older than it should be;
* **recovery** (``{RECOVERY}``): after damage, not the last good version.
"""

from __future__ import annotations

from harness.checkers.model import ReadVerdict, build_models
from harness.history.log import History

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


def describe_verdict(verdict: ReadVerdict) -> str:
    return f"{verdict.op.describe()}: {verdict.problem}: {verdict.detail}"


def is_final_read(verdict: ReadVerdict) -> bool:
    return isinstance(verdict.op.value, dict) and bool(verdict.op.value.get("final"))
