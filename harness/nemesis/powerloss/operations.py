"""The store calls power loss traces, the versions they move between, and their history records.

The explorer traces a save over one job (the *target*, ``j0``) and then, when the store has it,
an update of it, with up to three *bystander* jobs (``j1``...) that must come through untouched.
:func:`plan_operations` draws every version from the run's ``random.Random`` in a fixed order,
so that the same seed gives the same payloads::

    version 0 of j0        saved first, so that version 1 has a backup to fall back to
    version 1 of j0, j1..  the durable baseline (then ``sync()``)
    version 2 of j0        written by the traced save_job
    version 3's changes    applied by the traced update_job

Each crash state becomes one ``crash_state`` operation of process ``powerloss``
(:func:`record_crash_state`): what the state is, the versions the job may hold, and what the
store answered; :mod:`harness.checkers.crash_consistency` and its neighbours judge them. A part
of the exploration the model could not follow is an ``unknown`` event (:func:`record_unknown`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from harness.history.log import INFO, OK, HistoryLog
from harness.nemesis.powerloss.crash_states import CrashState
from harness.nemesis.powerloss.operation_trace import OpenFile
from harness.workload.payload import WRITE_TAG_KEY, make_job, write_record

WRITER = "powerloss"  # the writer name in the tags of the jobs written here


@dataclass
class TracedOperation:
    """One traced store call and the versions it moves between."""

    name: str  # save | update
    job: str
    old: dict[str, Any]  # write_record of the version before
    new: dict[str, Any]  # write_record of the version it writes
    call: dict[str, Any]  # what the traced process does: {"save": job} or {"update": changes}
    older: dict[str, Any] | None = None  # the version before ``old``: what its backup may hold
    returned: bool = False
    error: str | None = None
    open_files: dict[int, OpenFile] = field(default_factory=dict)


@dataclass(frozen=True)
class OperationPlan:
    """What the exploration of single operations saves first, then traces."""

    prepared: list[tuple[str, dict[str, Any]]]  # (job, value) saved in order before the trace
    operations: list[TracedOperation]
    untouched: dict[str, dict[str, Any]]  # each bystander's write_record: it must not change


def plan_operations(jobs: int, size: int, rng: random.Random, *, update: bool) -> OperationPlan:
    """The versions of the target and bystanders (``jobs`` in all), drawn in a fixed order."""
    names = [f"j{k}" for k in range(max(jobs, 1))]
    target, bystanders = names[0], names[1:4]
    zeroth = make_job(target, WRITER, 0, size, rng)  # so that version 1 has a backup to fall to
    first = {job: make_job(job, WRITER, 1, size, rng) for job in [target, *bystanders]}
    second = make_job(target, WRITER, 2, size, rng)
    third = make_job(target, WRITER, 3, size, rng)
    changes = {WRITE_TAG_KEY: third[WRITE_TAG_KEY], "data": third["data"]}
    operations = [
        TracedOperation(
            "save",
            target,
            write_record(first[target]),
            write_record(second),
            {"save": second},
            older=write_record(zeroth),
        )
    ]
    if update:
        merged = {**second, **changes}
        operations.append(
            TracedOperation(
                "update",
                target,
                write_record(second),
                write_record(merged),
                {"update": changes},
                older=write_record(first[target]),
            )
        )
    untouched = {job: write_record(first[job]) for job in bystanders}
    return OperationPlan([(target, zeroth), *first.items()], operations, untouched)


def record_unknown(history: HistoryLog, reason: str, *, close: bool = False) -> str:
    """Record that the harness could not follow the store here (the scenario is unknown)."""
    history.event("unknown", None, {"reason": reason}, kind=INFO)
    if close:
        history.close()
    return reason


def record_crash_state(
    history: HistoryLog,
    operation: TracedOperation,
    state: CrashState,
    result: dict[str, Any],
    untouched: dict[str, dict[str, Any]],
    *,
    point: str | None = None,
    acknowledged: bool | None = None,
) -> None:
    """One ``crash_state`` operation: the state and its versions, then what the store read.

    ``point`` and ``acknowledged`` default to the state's own; a state of the second cut gives
    the point in ``recover()`` and the first cut's promise instead.
    """
    acknowledged = state.acknowledged if acknowledged is None else acknowledged
    if point is None:
        point = state.point_label
        if acknowledged:
            point += f" ({operation.name}_job returned: acknowledged)"
    token = history.invoke(
        "crash_state",
        operation.job,
        {
            "operation": operation.name,
            "point": point,
            "acknowledged": acknowledged,
            "state": state.description,
            "old": operation.old,
            "new": operation.new,
            "older": operation.older,
            "untouched": untouched,
        },
    )
    history.complete(
        token,
        OK,
        {
            "read": result["read"],
            "recover_raised": result.get("recover_raised"),
            "untouched": result.get("untouched", {}),
            "litter": result.get("litter"),
            "backup": result.get("backup"),
        },
    )
