"""The fault vocabulary of a history: what each fault did, in words every judge reads the same way.

A fault is recorded as operations of the process ``nemesis`` (see :mod:`harness.history.log`), under
its own event names (``diskfault``, ``pause``, ``kill``...), which the timeline shows. So that a
checker needs no edit when a fault kind is added, every fault event also carries, under the key
``"fault"`` of its value, *what it did* in a small generic vocabulary:

========================  ====================================================================
``opens`` a window        ``{"opens": ID, "effect": E, "process": P, "errno": N, "label": L}``:
                          from this event on, effect ``E`` holds on process ``P`` (``None``: on
                          every process), until an event ``{"closes": ID}``
``closes`` a window       ``{"closes": ID}``: the window ``ID`` ends
a mark (an instant)       ``{"effect": E, "process": P, "job": J, "files": [...], ...}``
========================  ====================================================================

The effects, and what a judge may conclude from each:

* ``calls_fail``: store calls of the process may fail, with ``errno`` (``ENOSPC``, ``EIO``) when
  one is known. A write that raised is then the right answer, and its message must name the
  cause (``harness.checkers.clear_errors``);
* ``calls_slow``: store calls are delayed (a slow disk); a write that raised (a store's own
  timeout) is excused, and there is no errno to name;
* ``stopped``: the process is stopped (``SIGSTOP``): it makes no progress and is not dead;
  nothing it does is excused, and the runner does not count the stopped time against its calls;
* ``killed`` (a mark): the harness killed the process;
* ``damaged`` (a mark): the harness damaged the files of ``job`` (``files``: which were damaged,
  ``how``, ``deleted``: the damage removed the file).

Histories saved before this vocabulary (or by a fault that does not use it) are read through a
small legacy mapping of the event names, so a saved run is judged the same. :func:`read_faults`
is the one reader; checkers and the timeline take windows and marks from it::

    >>> from harness.history.log import Record
    >>> opened = window_opened("pause#1", STOPPED, process="writer-0", label="SIGSTOP for 0.3 s")
    >>> records = [
    ...     Record("nemesis", "invoke", "pause", None, {"process": "writer-0", **opened}, 1.0),
    ...     Record("nemesis", "ok", "pause", None, None, 1.0),
    ...     Record("nemesis", "invoke", "pause-end", None, window_closed("pause#1"), 1.3),
    ...     Record("nemesis", "ok", "pause-end", None, None, 1.3),
    ... ]
    >>> [(w.kind, w.effect, w.process, w.start, w.end) for w in read_faults(records).windows]
    [('pause', 'stopped', 'writer-0', 1.0, 1.3)]

This module imports only :mod:`harness.history.log`: checkers use it, and a checker must be able to
judge a saved history alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.history.log import History, Operation, Record, join_operations

FAULT = "fault"  # the key of an event's value that holds its generic description
CALLS_FAIL = "calls_fail"
CALLS_SLOW = "calls_slow"
STOPPED = "stopped"
KILLED = "killed"
DAMAGED = "damaged"
CALLS_MAY_FAIL = (CALLS_FAIL, CALLS_SLOW)  # effects under which a write that raised is excused

_window_numbers = itertools.count(1)


def new_window_id(kind: str) -> str:
    """A window id unique within this run (``"pause#3"``)."""
    return f"{kind}#{next(_window_numbers)}"


def window_opened(
    window_id: str,
    effect: str,
    *,
    process: str | None = None,
    errno: str | None = None,
    label: str = "",
) -> dict[str, Any]:
    """The generic fields of an event that opens a window (merge them into the event's value)."""
    return {
        FAULT: {
            "opens": window_id,
            "effect": effect,
            "process": process,
            "errno": errno,
            "label": label,
        }
    }


def window_closed(window_id: str) -> dict[str, Any]:
    """The generic fields of an event that closes the window ``window_id``."""
    return {FAULT: {"closes": window_id}}


def process_killed(process: str, how: str) -> dict[str, Any]:
    """The generic fields of a kill by the harness (``how``: "SIGKILL at a random time")."""
    return {
        FAULT: {"effect": KILLED, "process": process, "how": how, "label": f"kill {process}: {how}"}
    }


def files_damaged(job: str, files: list[str], how: str, label: str) -> dict[str, Any]:
    """The generic fields of a damage to ``job``'s ``files`` (those actually damaged)."""
    return {
        FAULT: {
            "effect": DAMAGED,
            "job": job,
            "files": list(files),
            "how": how,
            "deleted": how == "delete",
            "label": label,
        }
    }


@dataclass(frozen=True)
class FaultWindow:
    """A fault in force from ``start`` to ``end`` on ``process`` (None: on every process)."""

    kind: str  # the event name that opened it, for labels: diskfault, slowdisk, pause...
    effect: str
    start: float
    end: float
    process: str | None
    errno: str | None
    label: str

    def covers(self, op: Operation) -> bool:
        """Whether ``op`` ran (in part) inside the window, on a process the window applies to."""
        applies = self.process is None or self.process == op.process
        return applies and self.start <= op.end and op.start <= self.end

    @property
    def calls_may_fail(self) -> bool:
        return self.effect in CALLS_MAY_FAIL


@dataclass(frozen=True)
class FaultMark:
    """An instant fault: a kill, or a damage (with what it did)."""

    kind: str  # the event name: kill, damage...
    effect: str
    op: Operation  # the nemesis's operation, for its times and as evidence
    process: str | None = None
    job: str | None = None
    files: tuple[str, ...] = ()  # damage: the files actually damaged
    how: str = "?"
    deleted: bool = False
    label: str = ""


@dataclass(frozen=True)
class FaultLog:
    """Every fault window and mark of one history, in the order they happened."""

    windows: tuple[FaultWindow, ...]
    marks: tuple[FaultMark, ...]

    def windows_where_calls_may_fail(self) -> list[FaultWindow]:
        return [window for window in self.windows if window.calls_may_fail]

    def damages(self) -> list[FaultMark]:
        """The damages that were applied to at least one file."""
        return [mark for mark in self.marks if mark.effect == DAMAGED and mark.files]

    def kills(self) -> list[FaultMark]:
        return [mark for mark in self.marks if mark.effect == KILLED]


def faults_of(history: History) -> FaultLog:
    """The fault log of ``history``, read once and kept in its cache."""
    log = history.cache.get("fault_log")
    if log is None:
        end = history.records[-1].time if history.records else 0.0
        log = history.cache["fault_log"] = _read(history.operations, end)
    return log


def read_faults(records: Sequence[Record]) -> FaultLog:
    """The fault log of a list of history records (a window never closed lasts to the end)."""
    end = max((record.time for record in records), default=0.0)
    operations = sorted(join_operations(records), key=lambda op: op.index)
    return _read(operations, end)


def _read(operations: Sequence[Operation], end: float) -> FaultLog:
    windows: list[FaultWindow] = []
    marks: list[FaultMark] = []
    opened: dict[Any, tuple[Operation, dict[str, Any]]] = {}
    for op in operations:
        if op.process != "nemesis":
            continue
        fault = _described(op) or _legacy(op)
        if fault is None:
            continue
        if "opens" in fault:
            opened[fault["opens"]] = (op, fault)
        elif "closes" in fault:
            if fault["closes"] in opened:
                start, described = opened.pop(fault["closes"])
                windows.append(_window(start, described, op.end))
        elif "effect" in fault:
            marks.append(_mark(op, fault))
    windows.extend(_window(op, described, end) for op, described in opened.values())
    return FaultLog(tuple(windows), tuple(marks))


def _window(op: Operation, fault: dict[str, Any], end: float) -> FaultWindow:
    process = fault.get("process")
    errno = fault.get("errno")
    return FaultWindow(
        kind=op.f,
        effect=str(fault.get("effect", "")),
        start=op.start,
        end=end,
        process=process if isinstance(process, str) else None,
        errno=errno if isinstance(errno, str) else None,
        label=str(fault.get("label") or op.f),
    )


def _mark(op: Operation, fault: dict[str, Any]) -> FaultMark:
    files = fault.get("files")
    return FaultMark(
        kind=op.f,
        effect=str(fault["effect"]),
        op=op,
        process=fault.get("process"),
        job=fault.get("job", op.job),
        files=tuple(files) if isinstance(files, list) else (),
        how=str(fault.get("how", "?")),
        deleted=bool(fault.get("deleted")),
        label=str(fault.get("label") or op.f),
    )


def _described(op: Operation) -> dict[str, Any] | None:
    """The generic fields the event carries itself (its completion's win over its invoke's)."""
    for value in (op.result, op.value):
        if isinstance(value, dict) and isinstance(value.get(FAULT), dict):
            return value[FAULT]
    return None


def _legacy(op: Operation) -> dict[str, Any] | None:
    """The generic fields of an event recorded before the vocabulary, from its name."""
    value = op.value if isinstance(op.value, dict) else {}
    result = op.result if isinstance(op.result, dict) else {}
    process = value.get("process")
    if op.f in ("diskfault", "slowdisk"):
        effect = CALLS_FAIL if op.f == "diskfault" else CALLS_SLOW
        return {
            "opens": (op.f, process),
            "effect": effect,
            "process": process,
            "errno": value.get("error") if op.f == "diskfault" else None,
            "label": str(value.get("fault") or op.f),
        }
    if op.f in ("diskfault-end", "slowdisk-end"):
        return {"closes": (op.f[: -len("-end")], process)}
    if op.f in ("diskfull", "fill-disk"):
        size = f" ({value['size_kb']} KiB tmpfs)" if "size_kb" in value else ""
        label = ("disk full" if op.f == "fill-disk" else "small disk") + size
        return {"opens": (op.f, None), "effect": CALLS_FAIL, "errno": "ENOSPC", "label": label}
    if op.f in ("diskfull-end", "free-disk"):
        return {"closes": ("diskfull" if op.f == "diskfull-end" else "fill-disk", None)}
    if op.f == "kill":
        how = str(value.get("how") or result.get("how") or "SIGKILL")
        target = process or result.get("process")
        return {"effect": KILLED, "process": target, "how": how, "label": f"kill {target}: {how}"}
    if op.f == "damage":
        applied = result.get("applied")
        how = str(result.get("how", value.get("how", "?")))
        return {
            "effect": DAMAGED,
            "job": op.job,
            "files": applied if isinstance(applied, list) else [],
            "how": how,
            "deleted": how == "delete",
            "label": _damage_label(op.job, value),
        }
    return None


def _damage_label(job: str | None, value: dict[str, Any]) -> str:
    return f"damage {job}: {value.get('how', '?')} of {value.get('file', '?')}"
