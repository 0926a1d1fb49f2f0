"""Named steps of a store's write path, timed only while a benchmark records them.

A save is a sequence of system calls (lock, read the current file, write a temp file, fsync,
rename, fsync the directory) and a slow save is slow in one of them. The stores call
:func:`mark` at the end of each step; nothing happens unless a thread is inside
:func:`recording`, so the real code path is what the benchmark's save breakdown times, not a
copy of it that can drift (``harness.bench`` reads the record).

The cost when nobody records is one global load and one comparison per mark: about 30 ns, eight
times per save, against a save of about a millisecond of fsync.

>>> with recording() as record:
...     mark("encode")
...     mark("write")
...     mark("encode")
>>> sorted(record.durations())
['encode', 'total', 'write']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_clock = time.perf_counter


class StepRecord:
    """The marks one thread made while recording: (step, time) pairs, in order."""

    __slots__ = ("marks", "started", "thread")

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.started = _clock()
        self.marks: list[tuple[str, float]] = []

    def durations(self) -> dict[str, float]:
        """Seconds per step (the time since the previous mark, summed when a step repeats).

        ``total`` is the time from the start of the recording to its last mark, so the steps add
        up to it exactly.
        """
        times: dict[str, float] = {}
        last = self.started
        for step, at in self.marks:
            times[step] = times.get(step, 0.0) + (at - last)
            last = at
        times["total"] = last - self.started
        return times


_recording: StepRecord | None = None  # one recorder at a time: the benchmark is the only user


def mark(step: str) -> None:
    """Note that ``step`` of the current operation has just ended (free when not recording)."""
    record = _recording
    if record is not None and record.thread == threading.get_ident():
        record.marks.append((step, _clock()))


@contextmanager
def recording() -> Iterator[StepRecord]:
    """Record this thread's marks until the block ends; other threads' marks are ignored."""
    global _recording
    if _recording is not None:
        raise RuntimeError("steps are already being recorded; record one operation at a time")
    record = StepRecord()
    _recording = record
    try:
        yield record
    finally:
        _recording = None
