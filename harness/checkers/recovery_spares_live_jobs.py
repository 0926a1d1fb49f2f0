"""Recovery spares live jobs: ``recover()`` run while other processes work touches only the dead's.

An application restarts one worker among several and the restarted process calls ``recover()``
(``[options] recover_on_restart``); the other workers are alive and mid-job. Recovery must end
the jobs of the dead worker and leave the live ones alone. Two ways to get it wrong:

* **failed**: recovery marks a live worker's job ``error`` (it decided ownership by "is it
  running?" instead of "is its owner alive?"). The worker then saves its next step over it, so
  the damage shows only for a moment: the restarted process reads every job right after its
  ``recover()`` returns, and any reader may catch it too. A read that returns status ``error``
  under the tag of a write that was not ``error``, for a job whose writer did work both before
  and after a recovery that overlapped the read, is a live job failed. This hurts **C3**: the
  job ends as ``error`` though its worker was about to finish it.
* **rolled back**: recovery puts back an older version of a live job (a backup it thought was
  the last good copy): a stale read, after the recovery began, of a job written by a process
  that lived through it. This hurts **C6**, an acknowledged write lost.

A process *lived through* a recovery when it has an operation that began before the recovery
started and one that began after it ended. Not applicable when no recovery overlapped a live
process's work (nothing was at stake).
"""

from __future__ import annotations

from harness.checkers.read_verdicts import judge_reads
from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.log import OK, History, Operation

Recovery = tuple[Operation, set[str]]  # a recover() and the processes alive through it
Writes = dict[tuple[object, ...], Operation]  # each save by its tag


def check_recovery_spares_live_jobs(history: History) -> CheckResult:
    recoveries = _recoveries_while_others_worked(history)
    if not recoveries:
        return CheckResult(
            "recovery_spares_live_jobs",
            None,
            "no recover() ran while another process was working: nothing was at stake",
        )
    writes = {
        tuple(op.value["tag"]): op
        for op in history.of("save")
        if isinstance(op.value, dict) and isinstance(op.value.get("tag"), list)
    }
    failed = _failed_reads(history, writes, recoveries)
    rolled_back = _rolled_back_reads(history, writes, recoveries)
    counts = {
        "recoveries": len(recoveries),
        "failed_live": len(failed),
        "rolled_back_live": len(rolled_back),
    }
    if failed or rolled_back:
        parts = []
        if failed:
            parts.append(f"{plural(len(failed), 'read')} saw a live worker's job failed (C3)")
        if rolled_back:
            parts.append(f"{plural(len(rolled_back), 'read')} saw one rolled back (C6)")
        return CheckResult(
            "recovery_spares_live_jobs",
            False,
            f"recover() while others worked: {'; '.join(parts)}",
            counts,
            **evidence_fields(failed + rolled_back),
        )
    alive = sorted({process for _, live in recoveries for process in live})
    return CheckResult(
        "recovery_spares_live_jobs",
        True,
        f"{plural(len(recoveries), 'recover()')} ran while {', '.join(alive)} worked; "
        "none of their jobs was failed or rolled back",
        counts,
    )


def _recoveries_while_others_worked(history: History) -> list[Recovery]:
    """Each recover() that writers lived through: they worked before it began and after it ended."""
    first_start: dict[str, float] = {}
    last_start: dict[str, float] = {}
    for op in history.operations:
        first_start.setdefault(op.process, op.start)
        last_start[op.process] = max(last_start.get(op.process, op.start), op.start)
    writers = {op.process for op in history.of("save", "update")}
    recoveries: list[Recovery] = []
    for recover in history.of("recover"):
        if isinstance(recover.value, dict) and recover.value.get("absent"):
            continue
        live = {
            process
            for process in writers - {recover.process}
            if first_start[process] < recover.start and last_start[process] > recover.end
        }
        if live:
            recoveries.append((recover, live))
    return recoveries


def _failed_reads(history: History, writes: Writes, recoveries: list[Recovery]) -> list[str]:
    """Evidence of each read that saw a live worker's job failed by another's recovery."""
    last_end: dict[str, float] = {}
    for op in history.operations:
        last_end[op.process] = max(last_end.get(op.process, op.end), op.end)
    # A recovery that began after a writer's process was gone may fail its jobs, rightly: a
    # read after one of those says nothing about what the live-time recovery did.
    after_death = [
        (recover.start, recover.process)
        for recover in history.of("recover")
        if not (isinstance(recover.value, dict) and recover.value.get("absent"))
    ]
    return [
        evidence
        for read in history.of("get")
        if (evidence := _failed_live(read, writes, recoveries, last_end, after_death)) is not None
    ]


def _rolled_back_reads(history: History, writes: Writes, recoveries: list[Recovery]) -> list[str]:
    """Evidence of each stale read, after a recovery began, of a job a live process wrote."""
    job_writers: dict[str, set[str]] = {}
    for write in writes.values():
        if write.job is not None:
            job_writers.setdefault(write.job, set()).add(write.process)
    rolled_back = []
    for verdict in judge_reads(history):
        if verdict.problem != "stale" or verdict.op.job is None:
            continue
        for recover, live in recoveries:
            if recover.start < verdict.op.end and job_writers.get(verdict.op.job, set()) & live:
                rolled_back.append(
                    f"{verdict.op.describe()}: job of a process alive through "
                    f"{recover.process}'s recover() (op #{recover.index}) read older than "
                    f"acknowledged: {verdict.detail} (C6: an acknowledged write lost)"
                )
                break
    return rolled_back


def _failed_live(
    read: Operation,
    writes: Writes,
    recoveries: list[Recovery],
    last_end: dict[str, float],
    all_recoveries: list[tuple[float, str]],
) -> str | None:
    result = read.result if isinstance(read.result, dict) else {}
    if read.type != OK or result.get("kind") != "job" or result.get("status") != "error":
        return None
    tag = result.get("tag")
    write = writes.get(tuple(tag)) if isinstance(tag, list) else None
    if write is None or write.job != read.job or (write.value or {}).get("status") == "error":
        return None
    gone = last_end.get(write.process, float("inf"))
    if any(gone < start < read.end for start, _ in all_recoveries):
        return None  # failed by a recovery that ran once its worker was gone: as it should be
    for recover, live in recoveries:
        if write.process in live and recover.start < read.end and write.start < recover.end:
            return (
                f"{read.describe()}: {write.process} was alive and working before and after "
                f"{recover.process}'s recover() (op #{recover.index}), yet its job is 'error' "
                f"under the tag of its {write.value.get('status')!r} save (op #{write.index}): "
                f"{result.get('error')!r} (C3: a live job failed by another's recovery)"
            )
    return None
