"""The job service's configuration: arguments first, then the environment, then defaults.

Every setting works with no configuration at all::

    >>> settings = ServiceSettings.resolve(environ={})
    >>> settings.store_url, settings.max_upload_bytes, settings.row_delay
    ('file:data/jobs', 10485760, 0.0)

=============================  ===================================  ===================
environment variable           meaning                              default
=============================  ===================================  ===================
``DURABLE_JOBS_URL``           the job store (see ``open_store``)   ``file:data/jobs``
``DURABLE_JOBS_RESULTS``       directory of the result CSV files    ``data/results``
``DURABLE_JOBS_MAX_UPLOAD_BYTES``  largest accepted CSV upload      10 MiB
``DURABLE_JOBS_ROW_DELAY``     seconds of sleep per row (demos)     ``0``
``DURABLE_JOBS_WORKER_THREADS``  jobs processed at the same time    ``4``
``DURABLE_JOBS_QUEUE_LIMIT``   jobs waiting for a thread, at most   ``100``
``DURABLE_JOBS_STORE_RETRY_SECONDS``  how long a worker retries a   ``120``
                               store write through an outage
=============================  ===================================  ===================

Resolving settings reads the environment only: nothing is created on disk until the service
starts, so importing or building the app is free of side effects.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from durable_jobs.errors import JobStoreError
from durable_jobs.store import DEFAULT_URL, ENV_URL

ENV_RESULTS = "DURABLE_JOBS_RESULTS"
ENV_MAX_UPLOAD_BYTES = "DURABLE_JOBS_MAX_UPLOAD_BYTES"
ENV_ROW_DELAY = "DURABLE_JOBS_ROW_DELAY"
ENV_WORKER_THREADS = "DURABLE_JOBS_WORKER_THREADS"
ENV_QUEUE_LIMIT = "DURABLE_JOBS_QUEUE_LIMIT"
ENV_STORE_RETRY_SECONDS = "DURABLE_JOBS_STORE_RETRY_SECONDS"
DEFAULT_RESULTS_DIR = "data/results"
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_WORKER_THREADS = 4
DEFAULT_QUEUE_LIMIT = 100  # x 10 MiB uploads: at most ~1 GiB of spooled uploads on disk
# Twice the longest outage a job must survive (60 s): a PostgreSQL restart, a disk freed.
DEFAULT_STORE_RETRY_SECONDS = 120.0

T = TypeVar("T")


class ServiceConfigError(JobStoreError, ValueError):
    """A setting of the job service has a value it cannot use; the message names the fix."""


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Resolved settings of one job service instance."""

    store_url: str
    results_dir: Path
    max_upload_bytes: int
    row_delay: float
    worker_threads: int
    queue_limit: int = DEFAULT_QUEUE_LIMIT
    store_retry_seconds: float = DEFAULT_STORE_RETRY_SECONDS

    @classmethod
    def resolve(
        cls,
        *,
        store_url: str | None = None,
        results_dir: str | os.PathLike[str] | None = None,
        max_upload_bytes: int | None = None,
        row_delay: float | None = None,
        worker_threads: int | None = None,
        queue_limit: int | None = None,
        store_retry_seconds: float | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ServiceSettings:
        """Settings from the arguments, else the environment, else the defaults.

        Raises :class:`ServiceConfigError` naming the setting, the value and what is expected.
        """
        env = os.environ if environ is None else environ
        results = results_dir or env.get(ENV_RESULTS) or DEFAULT_RESULTS_DIR
        return cls(
            store_url=store_url or env.get(ENV_URL) or DEFAULT_URL,
            # absolute() reads the working directory only; it creates nothing.
            results_dir=Path(results).absolute(),
            max_upload_bytes=_setting(
                max_upload_bytes,
                env,
                ENV_MAX_UPLOAD_BYTES,
                DEFAULT_MAX_UPLOAD_BYTES,
                parse_byte_count,
            ),
            row_delay=_setting(row_delay, env, ENV_ROW_DELAY, 0.0, parse_seconds),
            worker_threads=_setting(
                worker_threads, env, ENV_WORKER_THREADS, DEFAULT_WORKER_THREADS, parse_thread_count
            ),
            queue_limit=_setting(
                queue_limit, env, ENV_QUEUE_LIMIT, DEFAULT_QUEUE_LIMIT, parse_queue_limit
            ),
            store_retry_seconds=_setting(
                store_retry_seconds,
                env,
                ENV_STORE_RETRY_SECONDS,
                DEFAULT_STORE_RETRY_SECONDS,
                parse_seconds,
            ),
        )


def parse_byte_count(value: object, source: str) -> int:
    """A positive whole number of bytes (``10485760``)."""
    number = _as_int(value, source, "a positive number of bytes, such as 10485760 for 10 MiB")
    if number <= 0:
        raise ServiceConfigError(f"{source} must be a positive number of bytes, got {value!r}")
    return number


def parse_seconds(value: object, source: str) -> float:
    """A finite, non-negative number of seconds (``0.05``)."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ServiceConfigError(
            f"{source} must be a number of seconds >= 0, such as 0.05, got {value!r}"
        )
    return seconds


def parse_thread_count(value: object, source: str) -> int:
    """A whole number of worker threads from 1 to 64."""
    number = _as_int(value, source, "a whole number of threads from 1 to 64")
    if not 1 <= number <= 64:
        raise ServiceConfigError(f"{source} must be from 1 to 64 threads, got {value!r}")
    return number


def parse_queue_limit(value: object, source: str) -> int:
    """A whole number of queued jobs from 1 to 100000."""
    number = _as_int(value, source, "a whole number of queued jobs from 1 to 100000")
    if not 1 <= number <= 100_000:
        raise ServiceConfigError(f"{source} must be from 1 to 100000 jobs, got {value!r}")
    return number


def _as_int(value: object, source: str, expected: str) -> int:
    if isinstance(value, bool):
        raise ServiceConfigError(f"{source} must be {expected}, got {value!r}")
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        raise ServiceConfigError(f"{source} must be {expected}, got {value!r}") from None


def _setting(
    argument: object,
    env: Mapping[str, str],
    name: str,
    default: T,
    parse: Callable[[object, str], T],
) -> T:
    """An argument wins over the environment, which wins over the default."""
    if argument is not None:
        # Name the argument as the caller spelled it: max_upload_bytes, row_delay, ...
        return parse(argument, name.removeprefix("DURABLE_JOBS_").lower())
    if env.get(name):
        return parse(env[name], f"${name}")
    return default
