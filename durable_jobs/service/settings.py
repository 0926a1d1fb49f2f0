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
``DURABLE_JOBS_LEASE_SECONDS``  how long a job's lease lasts        ``30``
``DURABLE_JOBS_HEARTBEAT_SECONDS``  how often leases are renewed    ``10``
``DURABLE_JOBS_RESCUE_SECONDS``  how often expired leases are       ``10``
                               looked for (any instance)
=============================  ===================================  ===================

Leases (:mod:`durable_jobs.service.leasing`): a lease of 30 s renewed every 10 s survives two
missed renewals (a slow disk, a database failover) before another instance may rescue the job;
a dead instance's jobs are failed within lease + heartbeat + rescue interval, 50 s. A heartbeat
must come at least twice per lease. The hosts' wall clocks must agree to well within a lease.

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
ENV_LEASE_SECONDS = "DURABLE_JOBS_LEASE_SECONDS"
ENV_HEARTBEAT_SECONDS = "DURABLE_JOBS_HEARTBEAT_SECONDS"
ENV_RESCUE_SECONDS = "DURABLE_JOBS_RESCUE_SECONDS"
DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_HEARTBEAT_SECONDS = 10.0
DEFAULT_RESCUE_SECONDS = 10.0

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
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    rescue_seconds: float = DEFAULT_RESCUE_SECONDS

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
        lease_seconds: float | None = None,
        heartbeat_seconds: float | None = None,
        rescue_seconds: float | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ServiceSettings:
        """Settings from the arguments, else the environment, else the defaults.

        Raises :class:`ServiceConfigError` naming the setting, the value and what is expected.
        """
        env = os.environ if environ is None else environ
        results = results_dir or env.get(ENV_RESULTS) or DEFAULT_RESULTS_DIR
        lease, heartbeat = _lease_timing(lease_seconds, heartbeat_seconds, env)
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
            lease_seconds=lease,
            heartbeat_seconds=heartbeat,
            rescue_seconds=_setting(
                rescue_seconds, env, ENV_RESCUE_SECONDS, DEFAULT_RESCUE_SECONDS, parse_interval
            ),
        )


def _lease_timing(
    lease_seconds: float | None, heartbeat_seconds: float | None, env: Mapping[str, str]
) -> tuple[float, float]:
    """The lease and heartbeat settings, refused unless a lease sees at least two heartbeats."""
    lease = _setting(lease_seconds, env, ENV_LEASE_SECONDS, DEFAULT_LEASE_SECONDS, parse_interval)
    heartbeat = _setting(
        heartbeat_seconds, env, ENV_HEARTBEAT_SECONDS, DEFAULT_HEARTBEAT_SECONDS, parse_interval
    )
    if heartbeat * 2 > lease:
        raise ServiceConfigError(
            f"the heartbeat ({heartbeat:g} s) must come at least twice per lease "
            f"({lease:g} s), or a live instance's jobs get rescued: lower "
            f"${ENV_HEARTBEAT_SECONDS} or raise ${ENV_LEASE_SECONDS}"
        )
    return lease, heartbeat


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


def parse_interval(value: object, source: str) -> float:
    """A finite number of seconds from 0.05 to one day (a lease, a heartbeat, a rescue pass)."""
    seconds = parse_seconds(value, source)
    if not 0.05 <= seconds <= 86_400:
        raise ServiceConfigError(f"{source} must be from 0.05 to 86400 seconds, got {value!r}")
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
