"""Store writes that outlast a short outage: bounded exponential backoff with jitter.

A worker that cannot record a job's start or outcome because the store is away for a while (a
PostgreSQL restart, a full disk being cleaned up, a file system remounted read-only for a
moment) must neither lose the job nor hold its thread forever. Each such write goes through
:func:`write_with_retry`, wrapped in a callable so the call itself stays the caller's::

    job = write_with_retry(lambda: store.update_job(job_id, changes), policy, stop=stopping)

What is retried, and what is not:

=========================================  ==============================================
transient: retried                         :class:`~durable_jobs.errors.StoreUnavailableError`
                                           (database away, pool exhausted, SQLite busy),
                                           :class:`~durable_jobs.errors.DurabilityError`
                                           (a write not made durable: ENOSPC, EROFS, EIO...),
                                           an ``OSError`` with one of :data:`TRANSIENT_ERRNOS`
permanent: raised at once                  everything else: an invalid job, a job not found
                                           or unreadable, a write refused on purpose
=========================================  ==============================================

The delays double from ``first_delay`` (0.2 s) to ``max_delay`` (5 s), each scaled by a random
factor in [0.5, 1] so that workers hit by the same outage do not retry in lockstep. The last
attempt is made ``total_seconds`` (default 120 s, ``$DURABLE_JOBS_STORE_RETRY_SECONDS``) after
the first; if it fails too, :class:`StoreWriteGaveUp` names the last cause and how long the
store was away.
A set ``stop`` event (the service shutting down) ends the wait at once and re-raises the last
error. Every store write the worker retries is idempotent (a merge of the same keys, a save
of a whole job), so a write that failed after it was applied does no harm when repeated.

>>> from itertools import islice
>>> [round(d, 1) for d in islice(RetryPolicy().delays(jitter=lambda: 1.0), 7)]
[0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
"""

from __future__ import annotations

import errno
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from durable_jobs.errors import DurabilityError, StoreUnavailableError

log = logging.getLogger("durable_jobs.service")

T = TypeVar("T")

DEFAULT_TOTAL_SECONDS = 120.0
DEFAULT_FIRST_DELAY = 0.2
DEFAULT_MAX_DELAY = 5.0
TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EIO,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EMFILE,
        errno.ENFILE,
        errno.ENOMEM,
    }
)
"""Errors of a medium that may heal by itself or by an operator's hand, not of one job."""


class StoreWriteGaveUp(StoreUnavailableError):
    """The store stayed unavailable for the whole retry budget; ``cause`` is the last error.

    ``reason`` is the cause in a few words ("no space left on device (ENOSPC)"), ``seconds``
    how long the writer kept trying. The fix is the cause's: free space, remount read-write,
    bring the database back. Nothing of the last write was acknowledged.
    """

    def __init__(self, cause: BaseException, seconds: float, attempts: int) -> None:
        self.cause, self.seconds, self.attempts = cause, seconds, attempts
        self.reason = describe_cause(cause)
        super().__init__(
            f"the store stayed unavailable for {seconds:.0f} s ({attempts} attempts): "
            f"{self.reason}; last error: {cause}"
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long, and how often, a store write is retried while the store is unavailable."""

    total_seconds: float = DEFAULT_TOTAL_SECONDS
    first_delay: float = DEFAULT_FIRST_DELAY
    max_delay: float = DEFAULT_MAX_DELAY

    def delays(self, jitter: Callable[[], float] | None = None) -> Iterator[float]:
        """The waits between attempts, without end: doubling, capped, jittered."""
        scale = jitter or (lambda: random.uniform(0.5, 1.0))
        delay = self.first_delay
        while True:
            yield delay * scale()
            delay = min(delay * 2, self.max_delay)


def is_transient(error: BaseException) -> bool:
    """True when the same write may succeed later (see the module's table)."""
    if isinstance(error, (StoreUnavailableError, DurabilityError)):
        return True
    return isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS


def describe_cause(error: BaseException) -> str:
    """The root cause in a few words: an errno as ``no space left on device (ENOSPC)``.

    The store's own error wraps the ``OSError`` (``raise ... from``); the first ``OSError`` in
    the chain is the real cause. Without one, the error's own first clause.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            name = errno.errorcode.get(current.errno, f"errno {current.errno}")
            text = (current.strerror or str(current)).lower()
            return f"{text} ({name})"
        current = current.__cause__ or current.__context__
    return str(error).split(";", 1)[0] or type(error).__name__


def write_with_retry(
    write: Callable[[], T],
    policy: RetryPolicy,
    *,
    stop: threading.Event | None = None,
    what: str = "a store write",
) -> T:
    """``write()``, retried while it fails transiently, for up to ``policy.total_seconds``.

    Returns what ``write`` returns. A permanent error is raised at once; a transient one that
    lasts the whole budget becomes :class:`StoreWriteGaveUp`; a ``stop`` set while waiting
    re-raises the last error at once. ``what`` names the write in the log.
    """
    started = time.monotonic()
    waits = policy.delays()
    attempts = 0
    while True:
        attempts += 1
        try:
            result = write()
        except Exception as error:
            if not is_transient(error):
                raise
            elapsed = time.monotonic() - started
            if elapsed >= policy.total_seconds:
                raise StoreWriteGaveUp(error, elapsed, attempts) from error
            # The last wait is cut short so that the last attempt falls on the bound.
            delay = min(next(waits), policy.total_seconds - elapsed)
            if attempts == 1:
                log.warning(
                    "%s failed (%s); retrying for up to %g s",
                    what,
                    describe_cause(error),
                    policy.total_seconds,
                )
            if stop is None:
                time.sleep(delay)  # the backoff itself, not a guess at a duration
            elif stop.wait(delay):
                raise  # shutting down: the next start-up's recovery ends the job
            continue
        if attempts > 1:
            log.warning(
                "%s succeeded after %d attempts (%.1f s)",
                what,
                attempts,
                time.monotonic() - started,
            )
        return result
