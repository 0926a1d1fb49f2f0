"""What a client is told when the store fails: a transient outage, a refusal, or damage.

Three answers a client must be able to tell apart (the incident's service had only 500):

=====================================  ==================================================
the store cannot be reached now        503 with ``Retry-After``: poll again later
(database restarting, disk read-only,  (:class:`~durable_jobs.errors.StoreUnavailableError`,
a write that could not be made         :class:`~durable_jobs.errors.DurabilityError`, any
durable, the job queue full)           ``OSError`` a backend lets through)
the request can never succeed          4xx naming the problem (an invalid job, a bad name)
the job itself is damaged              200 ``{"status": "unknown", "error"}`` (``api``)
=====================================  ==================================================

Every 503 names the cause (``EROFS (Read-only file system) on /srv/jobs: ...``), so an
operator reading a client's log knows what to fix.
"""

from __future__ import annotations

import math

from fastapi import HTTPException

from durable_jobs.errors import (
    InvalidJobError,
    InvalidJobIdError,
    JobStoreError,
    StoreUnavailableError,
    describe_os_error,
)
from durable_jobs.service.worker import QueueFullError

DEFAULT_RETRY_AFTER_SECONDS = 5


def is_outage(error: BaseException) -> bool:
    """True for a failure of the store as a whole (not of one job): a retry may succeed."""
    return isinstance(error, (StoreUnavailableError, OSError, QueueFullError))


def retry_after(error: BaseException) -> str:
    """The ``Retry-After`` header's value (whole seconds) for ``error``."""
    seconds = getattr(error, "retry_after", DEFAULT_RETRY_AFTER_SECONDS)
    return str(max(1, math.ceil(seconds)))


def describe_store_failure(error: BaseException) -> str:
    """One line naming the cause: an ``OSError`` by its errno and fix, the rest as they say."""
    if isinstance(error, OSError):
        return describe_os_error(error)
    if isinstance(error, JobStoreError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def store_failure(error: BaseException, doing: str) -> HTTPException:
    """The HTTP error for a failed store call made while ``doing`` ("record the job").

    Input the store refuses for good is 422; everything else is 503 with ``Retry-After``:
    nothing was acknowledged, and the same request may succeed once the store is back.
    """
    if isinstance(error, (InvalidJobError, InvalidJobIdError)):
        return HTTPException(422, f"cannot {doing}: {error}; this request cannot succeed as sent")
    return HTTPException(
        503,
        f"cannot {doing}: {describe_store_failure(error)}; nothing was recorded, retry later",
        headers={"Retry-After": retry_after(error)},
    )
