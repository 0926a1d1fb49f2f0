"""No lost update: every field acknowledged by ``update_job`` is present at the end.

Each updater process owns one field (``u0``, ``u1``, ...) of every job and sets it to its own
increasing sequence number, so for one field the updates are ordered. The incident's application did
updates as read-modify-write without a lock: two processes read the same version, each sets its
own field, and the second save wipes the first one's field. That is a lost update.

A read of field ``f`` is judged like a register read: it must not return a value older than an
update of ``f`` acknowledged before the read began. The final reads (after restart, in a quiet
store) must show, for every field, the last acknowledged value or a later unknown one.

A ``save_job`` of the same job replaces the whole job, and its payload carries no updater's
field: an update that such a save may have followed (the save ended after the update began,
and began before the read ended) is legitimately gone, and is not asked for. (``jobharness
hunt`` found this false alarm: one writer and one updater on one job, no fault at all.)
Likewise an update whose version a damage of the job file destroyed is gone when the store
serves the backup, the version before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checkers.excused_writes import damages_by_job, destroyed_by_damage
from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.fault_windows import FaultMark
from harness.history.log import OK, History, Operation


@dataclass(frozen=True)
class _Update:
    op: Operation
    field: str
    seq: int


def _by_job(operations: list[Operation]) -> dict[str, list[Operation]]:
    grouped: dict[str, list[Operation]] = {}
    for op in operations:
        grouped.setdefault(op.job or "", []).append(op)
    return grouped


def _required(
    updates: list[_Update],
    saves: list[Operation],
    writes: list[Operation],
    damages: list[FaultMark],
    read: Operation,
) -> list[_Update]:
    """The updates ``read`` must show: acknowledged before it began, not possibly replaced by a
    save of the job since (one that ended after the update began, began before the read
    ended), and not in a version a damage destroyed (:func:`destroyed_by_damage`)."""
    return [
        update
        for update in updates
        if update.op.type == OK
        and update.op.end < read.start
        and not any(s.end > update.op.start and s.start < read.end for s in saves)
        and not destroyed_by_damage(update.op, writes, damages, read.end)
    ]


def check_no_lost_update(history: History) -> CheckResult:
    updates = [op for op in history.of("update")]
    if not updates:
        return CheckResult("no_lost_update", None, "no update_job calls in this history")
    by_key: dict[tuple[str, str], list[_Update]] = {}
    for op in updates:
        for name, seq in (op.value or {}).get("changes", {}).items():
            by_key.setdefault((op.job or "", name), []).append(_Update(op, name, seq))
    saves = _by_job(history.of("save"))
    writes = _by_job([*history.of("save"), *updates])  # what may carry an update's change along
    damages = damages_by_job(history)
    problems: list[str] = []
    checked = 0
    final_checked = 0
    for read in history.of("get"):
        if read.type != OK or not isinstance(read.result, dict) or read.result.get("kind") != "job":
            continue
        fields = read.result.get("fields") or {}
        is_final = isinstance(read.value, dict) and read.value.get("final")
        for (job, name), field_updates in by_key.items():
            if job != read.job or name not in fields:
                continue
            checked += 1
            final_checked += bool(is_final)
            value = fields[name]
            acked = _required(
                field_updates, saves.get(job, []), writes[job], damages.get(job, []), read
            )
            if not acked:
                continue
            newest = max(acked, key=lambda u: u.seq)
            if not isinstance(value, int) or value < newest.seq:
                problems.append(
                    f"{read.describe()}: {name}={value!r} but update {name}={newest.seq} was acknowledged "
                    f"at {newest.op.end:.3f}s (op #{newest.op.index}){' [final read]' if is_final else ''}"
                )
    acknowledged = sum(1 for op in updates if op.type == OK)
    counts = {
        "updates": len(updates),
        "acknowledged": acknowledged,
        "field_reads": checked,
        "lost": len(problems),
    }
    if not checked:
        return CheckResult("no_lost_update", None, "no read reported the updated fields", counts)
    if problems:
        finals = sum(1 for p in problems if p.endswith("[final read]"))
        summary = f"{plural(len(problems), 'read')} missed an acknowledged update"
        if finals:
            summary += f", {finals} of them in the final state: those updates are lost for good"
        return CheckResult("no_lost_update", False, summary, counts, **evidence_fields(problems))
    return CheckResult(
        "no_lost_update",
        True,
        f"{acknowledged} acknowledged updates of {len(by_key)} fields, none lost "
        f"({checked} field reads, {final_checked} final)",
        counts,
    )
