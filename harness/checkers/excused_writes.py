"""Writes that may fail by contract: an update of a job not created yet, or of a destroyed one.

``update_job`` of a missing job raises "not found" (``JobNotFoundError`` for durable_jobs; a
``KeyError`` or ``FileNotFoundError`` elsewhere). Beside workers that create their jobs as they
go, an updater meets such jobs; the checkers that judge raised writes (``never_raises``) and
error messages (``clear_errors``) must not count those, until the job was first saved: after
that, "not found" means the store lost it. Likewise an ``update_job`` of a job whose every
copy (the job file and its backup) the harness damaged, before a save wrote it again, has
nothing left to read and must fail (:func:`destroyed_windows`). ``jobharness hunt`` found
these false alarms.
"""

from __future__ import annotations

from harness.history.fault_windows import FaultMark, faults_of
from harness.history.log import History, Operation

# What stores raise for an update of a job that does not exist (durable_jobs: JobNotFoundError).
MISSING_ERRORS = ("KeyError", "LookupError", "FileNotFoundError")


def first_saves(history: History) -> dict[str, float]:
    """When each job was first saved (the end of its first acknowledged save_job)."""
    first: dict[str, float] = {}
    for op in history.of("save"):
        if op.type == "ok" and op.job is not None:
            first[op.job] = min(first.get(op.job, op.end), op.end)
    return first


def not_created_yet(op: Operation, created: dict[str, float]) -> bool:
    """An ``update_job`` that said "not found" before any save of that job had ended.

    Raising it is what the store interface asks of an update of a missing job (a worker may not
    have created the job yet). After the job's first acknowledged save, the same error means
    the store lost the job, and stays a failure. (``jobharness hunt`` found this false alarm:
    an updater beside workers that create their jobs as they go.)
    """
    error_type = (op.error or "").split(":", 1)[0]
    if op.f != "update" or not ("NotFound" in error_type or error_type in MISSING_ERRORS):
        return False
    return op.job not in created or op.start < created[op.job]


def destroyed_windows(history: History) -> dict[str, list[tuple[float, float]]]:
    """Per job, the spans in which both its file and its backup were damaged and not rewritten.

    A span opens when a damage leaves both copies damaged (at once, or one after the other with
    no save between) and closes when the next save of that job begins.
    """
    events: list[tuple[float, str, str, tuple[str, ...]]] = []
    for mark in faults_of(history).damages():
        if mark.job is not None:
            events.append((mark.op.start, "damage", mark.job, mark.files))
    for op in history.of("save"):
        if op.job is not None:
            events.append((op.start, "save", op.job, ()))
    damaged: dict[str, set[str]] = {}
    opened: dict[str, float] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for time, kind, job, files in sorted(events, key=lambda event: event[0]):
        if kind == "save":
            damaged.pop(job, None)
            if job in opened:
                spans.setdefault(job, []).append((opened.pop(job), time))
            continue
        copies = damaged.setdefault(job, set())
        copies.update(("main", "backup") if "both" in files else files)
        if {"main", "backup"} <= copies and job not in opened:
            opened[job] = time
    for job, start in opened.items():
        spans.setdefault(job, []).append((start, float("inf")))
    return spans


def on_destroyed_job(op: Operation, spans: dict[str, list[tuple[float, float]]]) -> bool:
    """An ``update_job`` that ran while every copy of its job was destroyed."""
    if op.f != "update" or op.job is None:
        return False
    return any(start <= op.end and op.start <= end for start, end in spans.get(op.job, ()))


def destroyed_by_damage(
    write: Operation,
    writes: list[Operation],
    damages: list[FaultMark],
    before: float,
) -> bool:
    """``write`` of a job may be gone because a damage destroyed its version before ``before``.

    A damage of the job file destroys the version in it: that of the last write to the job
    before the damage (or of one in flight during it), and a store that falls back to the
    backup serves the version before it, without that write. A later write of the job that
    ended before the damage carried ``write``'s change along (an update reads it back), so it
    spares ``write``. A damage of both copies may leave any older version, or none.
    ``damages``: the job's damages (:func:`damages_by_job`). (``jobharness hunt`` found this
    false alarm: an update, then its job file deleted, then the backup served.)
    """
    for damage in damages:
        start, files = damage.op.start, damage.files
        if not write.start < start < before or "main" not in files:
            continue  # a damage of the backup alone leaves the current version alone
        if "backup" in files:
            return True
        if not any(
            other is not write
            and other.type == "ok"
            and write.end < other.start
            and other.end < start
            for other in writes
        ):
            return True
    return False


def damages_by_job(history: History) -> dict[str, list[FaultMark]]:
    """The damages that hit at least one file, per job."""
    found: dict[str, list[FaultMark]] = {}
    for mark in faults_of(history).damages():
        if mark.job is not None:
            found.setdefault(mark.job, []).append(mark)
    return found
