"""One recorded store call: an invoke, the call timed alone, and exactly one completion.

Every store call of every harness process goes through :func:`recorded`: the roles of
:mod:`harness.client.process`, the latency timer of :mod:`harness.bench.timer`. It also keeps the *call
clock*, a value shared with the runner saying since when the call in flight has been running
(0.0 when idle), so the runner can kill a process whose store call hangs and name the call on
the progress line; and it counts calls for the descriptor sampler.

>>> ok, result = recorded(log, "get", "j0", None, lambda: store.get_job("j0"))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from harness.client import descriptors, turns
from harness.history.log import INFO, OK, HistoryLog
from harness.history.outcomes import describe_error

# When the store call in flight began (monotonic seconds, 0.0 when idle): a value shared with the
# runner, which kills a process whose call has been in flight too long (a hung store).
_call_clock: Any = None


def silence_store_logging() -> None:
    """Keep a store's log records off stderr in a harness process.

    The store's warnings (recovery logs every repair) would flood the terminal, and their
    ``write(2)`` calls would be counted by fault injection and power loss as the store's own.
    """
    root = logging.getLogger()
    if not any(isinstance(handler, logging.NullHandler) for handler in root.handlers):
        root.addHandler(logging.NullHandler())  # once: every opening of a store calls this
    logging.lastResort = None


def use_call_clock(clock: Any) -> None:
    """Publish this process's calls on ``clock`` (a shared ``Value('d')``), or stop with None."""
    global _call_clock
    _call_clock = clock


def set_busy(busy: bool) -> None:
    """Mark a store call as begun (True) or ended (False) on the call clock."""
    if _call_clock is not None:
        _call_clock.value = time.monotonic() if busy else 0.0


def recorded(
    log: HistoryLog,
    f: str,
    job: str | None,
    value: Any,
    call: Callable[[], Any],
    *,
    raised: str = INFO,
    summarize: Callable[[Any], Any] = lambda result: None,
) -> tuple[bool, Any]:
    """Record ``call`` as an invoke and one completion, timing the call alone.

    ``ok`` with ``summarize(result)`` when it returns; the ``raised`` kind (*info* for a write:
    it may have happened; *fail* for a read: it had no effect) with the error when it raises.
    Returns whether it returned, and what. In deterministic mode the call first waits for its
    turn (:mod:`harness.client.turns`), and says it is done once its completion is recorded.
    """
    taker = turns.current()
    if taker is not None:
        taker.wait_for_turn()  # raises TurnsEnded when the phase's turns are spent
    try:
        return _recorded(log, f, job, value, call, raised, summarize)
    finally:
        if taker is not None:
            taker.turn_done()


def _recorded(
    log: HistoryLog,
    f: str,
    job: str | None,
    value: Any,
    call: Callable[[], Any],
    raised: str,
    summarize: Callable[[Any], Any],
) -> tuple[bool, Any]:
    token = log.invoke(f, job, value)
    set_busy(True)
    started = time.perf_counter()
    try:
        result = call()
    except Exception as error:
        elapsed = time.perf_counter() - started
        set_busy(False)
        log.complete(token, raised, {"raised": True}, describe_error(error), elapsed=elapsed)
        descriptors.note_call()
        return False, None
    except BaseException as error:
        # SystemExit or KeyboardInterrupt out of a store call: in a web server it takes the
        # worker down. Record it, then let it end this process as it would end theirs.
        elapsed = time.perf_counter() - started
        set_busy(False)
        result = {"raised": True, "fatal": True}
        log.complete(token, raised, result, describe_error(error), elapsed=elapsed)
        raise
    elapsed = time.perf_counter() - started  # before summarizing: only the store call counts
    set_busy(False)
    log.complete(token, OK, summarize(result), elapsed=elapsed)
    descriptors.note_call()
    return True, result
