"""Operation histories: every call the harness makes, recorded as data, judged later.

Following Jepsen, each operation is recorded twice: an **invoke** when a process starts it, and
exactly one **completion** when it ends:

* ``ok``: it returned normally, and it happened;
* ``fail``: it certainly did not happen (a read that raised has no effect);
* ``info``: its outcome is unknown (the process was killed mid-call, the call timed out, or a
  write raised and may or may not have reached the disk). A checker must accept either outcome
  for an *info* write, but nothing older than the last acknowledged one.

Faults are operations too (process ``nemesis``), and so are the phase changes of a run, so a
history alone is enough to judge a run: ``jobharness analyze`` re-checks a saved run without
re-running it.

On disk a history is JSON Lines, one record a line::

    {"process":"writer-0","type":"invoke","f":"save","job":"j1","value":{"tag":["writer-0",3]},"time":0.0123}
    {"process":"writer-0","type":"ok","f":"save","job":"j1","value":null,"time":0.0131}

While a run is going, each process appends to its own file with single ``writev`` calls (atomic
appends, and deliberately *not* ``write``: the fault injector counts a store's ``write`` calls and
must not count ours). :func:`merge_histories` interleaves the files by time and closes every
invoke left open by a dead process with an *info* completion.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"


@dataclass(frozen=True, slots=True)
class Record:
    """One line of a history: an invoke or a completion."""

    process: str
    type: str
    f: str
    job: str | None
    value: Any
    time: float
    error: str | None = None
    index: int = -1
    elapsed: float | None = None  # completions: seconds inside the store call, by perf_counter

    def to_json(self) -> str:
        data = asdict(self)
        for optional in ("error", "elapsed"):
            if data[optional] is None:
                del data[optional]
        return json.dumps(data, separators=(",", ":"), default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(
            process=data["process"],
            type=data["type"],
            f=data["f"],
            job=data.get("job"),
            value=data.get("value"),
            time=float(data["time"]),
            error=data.get("error"),
            index=int(data.get("index", -1)),
            elapsed=data.get("elapsed"),
        )


@dataclass(frozen=True, slots=True)
class Operation:
    """An invoke and its completion, joined: what checkers work with."""

    process: str
    f: str
    job: str | None
    type: str  # the completion type: ok, fail or info
    value: Any  # what the invoke carried (the tag of a write, the changes of an update)
    result: Any  # what the completion carried (the summary of a read)
    start: float
    end: float
    error: str | None
    index: int  # index of the invoke record, for pointing at evidence
    elapsed: float | None = None

    @property
    def latency(self) -> float:
        """Seconds inside the store call (measured around the call itself when recorded)."""
        return self.elapsed if self.elapsed is not None else self.end - self.start

    def describe(self) -> str:
        """One line naming the operation, for evidence in reports."""
        what = f"{self.f}({self.job})" if self.job else self.f
        text = f"op #{self.index} {self.process} {what} -> {self.type} at {self.start:.3f}s"
        if self.error:
            text += f": {self.error}"
        return text


class HistoryLog:
    """The recorder a process uses: append-only, one ``writev`` per record, no buffering.

    >>> log = HistoryLog(path, "reader-0", epoch)          # doctest: +SKIP
    >>> token = log.invoke("get", "j1")                     # doctest: +SKIP
    >>> log.complete(token, "ok", {"kind": "none"})         # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], process: str, epoch: float) -> None:
        self.path = os.fspath(path)
        self.process = process
        self.epoch = epoch
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)

    def now(self) -> float:
        """Seconds since the run's epoch, on the system-wide monotonic clock."""
        return time.monotonic() - self.epoch

    def invoke(self, f: str, job: str | None = None, value: Any = None) -> tuple[str, str | None]:
        self._append(Record(self.process, INVOKE, f, job, value, self.now()))
        return (f, job)

    def complete(
        self,
        token: tuple[str, str | None],
        kind: str,
        value: Any = None,
        error: str | None = None,
        at: float | None = None,
        elapsed: float | None = None,
    ) -> None:
        f, job = token
        self._append(
            Record(
                self.process,
                kind,
                f,
                job,
                value,
                self.now() if at is None else at,
                error,
                -1,
                elapsed,
            )
        )

    def event(self, f: str, job: str | None = None, value: Any = None, kind: str = INFO) -> None:
        """An instantaneous operation (invoke and completion at once), e.g. a phase change."""
        token = self.invoke(f, job, value)
        self.complete(token, kind, value)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _append(self, record: Record) -> None:
        os.writev(self._fd, [record.to_json().encode() + b"\n"])


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """Records of one JSONL file; a torn last line (a process killed mid-append) is dropped."""
    records = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(Record.from_dict(json.loads(line)))
            except (ValueError, KeyError):
                continue
    return records


@dataclass
class ProcessEnd:
    """How a process ended, as the runner saw it: closes the invokes it left open."""

    time: float
    reason: str  # e.g. "killed by nemesis (SIGKILL at fsync #3)", "timed out after 30 s"


def merge_histories(
    paths: Iterable[str | os.PathLike[str]], ends: dict[str, ProcessEnd] | None = None
) -> list[Record]:
    """Interleave per-process files by time, index them, and close open invokes with *info*."""
    ends = ends or {}
    records: list[Record] = []
    for path in paths:
        records.extend(read_records(path))
    records.sort(key=lambda record: record.time)
    open_invokes: dict[str, Record] = {}
    for record in records:
        if record.type == INVOKE:
            open_invokes[record.process] = record
        else:
            open_invokes.pop(record.process, None)
    for process, invoke in open_invokes.items():
        end = ends.get(process)
        at = max(invoke.time, end.time) if end else invoke.time
        reason = end.reason if end else "process ended without completing the operation"
        records.append(Record(process, INFO, invoke.f, invoke.job, None, at, reason))
    records.sort(key=lambda record: record.time)
    return [_with_index(record, index) for index, record in enumerate(records)]


def _with_index(record: Record, index: int) -> Record:
    return dataclasses.replace(record, index=index)


def write_history(path: str | os.PathLike[str], records: Iterable[Record]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(record.to_json() + "\n")


def load_history(path: str | os.PathLike[str]) -> list[Record]:
    """A merged history saved by :func:`write_history`, in order."""
    return read_records(path)


@dataclass
class History:
    """A merged history with its operations joined, the input of every checker."""

    records: list[Record]
    operations: list[Operation] = field(init=False)
    cache: dict[str, Any] = field(init=False, default_factory=dict, repr=False)  # shared analyses

    def __post_init__(self) -> None:
        self.operations = sorted(join_operations(self.records), key=lambda op: op.index)

    def of(self, *functions: str) -> list[Operation]:
        """Operations calling any of ``functions``, in invoke order."""
        return [op for op in self.operations if op.f in functions]

    def by_job(self) -> dict[str, list[Operation]]:
        """Each job's operations, in invoke order (jobs are independent registers)."""
        jobs: dict[str, list[Operation]] = {}
        for op in self.operations:
            if op.job is not None:
                jobs.setdefault(op.job, []).append(op)
        return jobs

    def first(self, f: str) -> Operation | None:
        return next((op for op in self.operations if op.f == f), None)


def join_operations(records: Iterable[Record]) -> Iterator[Operation]:
    """Pair each invoke with the next completion of the same process."""
    pending: dict[str, Record] = {}
    for record in records:
        if record.type == INVOKE:
            pending[record.process] = record
            continue
        invoke = pending.pop(record.process, None)
        if invoke is None:
            continue
        yield Operation(
            process=record.process,
            f=invoke.f,
            job=invoke.job,
            type=record.type,
            value=invoke.value,
            result=record.value,
            start=invoke.time,
            end=record.time,
            error=record.error,
            index=invoke.index,
            elapsed=record.elapsed,
        )
