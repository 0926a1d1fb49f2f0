"""durable_jobs: a crash-safe store for the state of background jobs.

Two ways to use it. Open a store explicitly::

    from durable_jobs import open_store
    store = open_store("file:///srv/jobs")
    store.save_job("a1", {"status": "queued"})

or call the module-level functions, which keep the incident's API (``durable_jobs.save_job``,
``durable_jobs.get_job``) and use the store named by ``$DURABLE_JOBS_URL`` (default
``file:data/jobs``), opened on first use::

    import durable_jobs
    durable_jobs.save_job("a1", {"status": "queued"})
    durable_jobs.get_job("a1")

Guarantees of the hardened backends (file, SQLite, PostgreSQL): ``save_job`` is atomic and
durable when it returns, ``get_job`` never raises for what is on disk (it returns the job,
``None`` for a job that never existed, or ``{"id", "status": "unknown", "error"}``),
``update_job`` is an atomic read-modify-write across processes, and ``recover()`` at start-up
leaves no job "running" forever. See ``docs/store.md``.
"""

from __future__ import annotations

import threading
from typing import Any

from durable_jobs.errors import (
    DurabilityError,
    InvalidJobError,
    InvalidJobIdError,
    JobNotFoundError,
    JobStoreError,
    JobUnreadableError,
    LeaseLostError,
    StoreConfigError,
)
from durable_jobs.ids import is_valid_job_id, validate_job_id
from durable_jobs.lifecycle import TERMINAL_STATUSES, current_owner
from durable_jobs.store import BasicJobStore, JobStore, open_store

__all__ = [
    "TERMINAL_STATUSES",
    "BasicJobStore",
    "DurabilityError",
    "InvalidJobError",
    "InvalidJobIdError",
    "JobNotFoundError",
    "JobStore",
    "JobStoreError",
    "JobUnreadableError",
    "LeaseLostError",
    "StoreConfigError",
    "current_owner",
    "default_store",
    "delete_job",
    "get_job",
    "is_valid_job_id",
    "list_jobs",
    "open_store",
    "recover",
    "save_job",
    "update_job",
    "validate_job_id",
]

_default_store: Any = None
_default_lock = threading.Lock()


def default_store() -> Any:
    """The store the module-level functions use, opened from ``$DURABLE_JOBS_URL`` once."""
    global _default_store
    if _default_store is None:
        with _default_lock:
            if _default_store is None:
                _default_store = open_store()
    return _default_store


def save_job(job_id: str, job: dict[str, Any]) -> None:
    """Save ``job`` in the default store (see :meth:`FileJobStore.save_job`)."""
    default_store().save_job(job_id, job)


def get_job(job_id: str) -> dict[str, Any] | None:
    """Read a job from the default store; never raises for what is on disk."""
    return default_store().get_job(job_id)


def update_job(job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Atomically merge ``changes`` into a job of the default store."""
    return default_store().update_job(job_id, changes)


def list_jobs() -> list[str]:
    """Ids of the jobs in the default store."""
    return default_store().list_jobs()


def delete_job(job_id: str) -> bool:
    """Delete a job from the default store."""
    return default_store().delete_job(job_id)


def recover() -> Any:
    """Recover the default store (run at application start-up)."""
    return default_store().recover()
