"""Regressions injected on purpose, for measuring a gate's power (tests and tools/gate-power only).

A gate is worth what it catches. To measure that, the measured store must become slower in a
known way without touching the store's code: ``JOBHARNESS_INJECT_REGRESSION`` names one of
:data:`INJECTIONS`, and :func:`inject_regression` wraps the timed operations of the measured
stores (never the floors) so each call costs that much more:

=======================  ================================================================
``save-extra-fsync``      ``save``: after the save, the job file's times are touched and it is
                          fsynced once more (a journal commit, as an fsync after a write costs;
                          an fsync of a clean file costs a third of that on ext4)
``save-plus-20pct``       ``save``: after the save, a busy wait of 0.2x the save's own duration
``get-plus-0.2ms``        ``get``: a busy wait of 0.2 ms after the read
``damaged-retry-50ms``    ``get_damaged``: a 50 ms sleep before the read (a retry of a damaged read)
=======================  ================================================================

Only the benchmark harness reads the variable (``jobharness bench``, the "new" side of ``gate
--against``); ``durable_jobs`` never does, so a production store cannot be slowed by it. The
hook works on operations, not on the store object: the damaged read is one operation (the file
torn in its untimed ``prepare``), so "a get that hits a damaged file" is known without guessing.

>>> import os
>>> os.environ.pop(ENV, None) and None
>>> requested_injection() is None
True
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence

from harness.bench.rounds import TimedOperation
from harness.errors import ConfigError
from harness.store.handle import StoreHandle

ENV = "JOBHARNESS_INJECT_REGRESSION"
INJECTIONS = ("save-extra-fsync", "save-plus-20pct", "get-plus-0.2ms", "damaged-retry-50ms")
TARGET_OP = {
    "save-extra-fsync": "save",
    "save-plus-20pct": "save",
    "get-plus-0.2ms": "get",
    "damaged-retry-50ms": "get_damaged",
}


def requested_injection() -> str | None:
    """The injection ``$JOBHARNESS_INJECT_REGRESSION`` names (None when unset, empty or
    ``none``); ConfigError naming the accepted values for any other word."""
    value = os.environ.get(ENV, "").strip()
    if value in ("", "none"):
        return None
    if value not in INJECTIONS:
        raise ConfigError(
            f"{ENV}={value!r} is not an injection; choose among {', '.join(INJECTIONS)} "
            f"(or unset it)"
        )
    return value


def inject_regression(
    operations: Sequence[TimedOperation], handles: dict[str, StoreHandle]
) -> list[TimedOperation]:
    """``operations`` with the requested injection applied to the stores in ``handles``.

    Unchanged (the same objects) when nothing is requested; floors are never touched.
    """
    injection = requested_injection()
    if injection is None:
        return list(operations)
    return [
        _wrapped(op, injection, handles[op.store])
        if op.store in handles and op.op == TARGET_OP[injection]
        else op
        for op in operations
    ]


def _wrapped(op: TimedOperation, injection: str, handle: StoreHandle) -> TimedOperation:
    call = op.call
    if injection == "save-extra-fsync":
        path = handle.job_file(op.job_id) if op.job_id else None
        if path is None:
            raise ConfigError(f"{ENV}={injection}: {op.figure}: the store names no job file")
        slower = _then(call, lambda elapsed: _fsync(path))
    elif injection == "save-plus-20pct":
        slower = _then(call, lambda elapsed: _spin(0.2 * elapsed))
    elif injection == "get-plus-0.2ms":
        slower = _then(call, lambda elapsed: _spin(0.0002))
    else:  # damaged-retry-50ms

        def slower() -> object:
            time.sleep(0.05)
            return call()

    return dataclasses.replace(op, call=slower)


def _then(call: Callable[[], object], after: Callable[[float], None]) -> Callable[[], object]:
    """``call``, then ``after`` given the seconds the call took."""

    def slower() -> object:
        started = time.perf_counter()
        result = call()
        after(time.perf_counter() - started)
        return result

    return slower


def _fsync(path: os.PathLike[str]) -> None:
    os.utime(path)  # a dirty inode: the fsync commits the journal, as after a real write
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _spin(seconds: float) -> None:
    """Busy-wait: a sleep this short would cost a scheduler tick, not ``seconds``."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
