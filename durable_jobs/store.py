"""The job-store interface and :func:`open_store`, which picks a backend from a URL.

Every backend has the incident's API, so an application written against the incident's API switches unchanged::

    store = open_store()                      # $DURABLE_JOBS_URL, else file:data/jobs
    store.save_job("a1", {"status": "queued"})
    store.update_job("a1", {"status": "running", "progress": 0.5})
    store.get_job("a1")                       # {'status': 'running', 'progress': 0.5}
    store.get_job("never-saved")              # None: the API answers 404

URLs:

=====================================  =============================================
``file:///srv/jobs`` or ``file:jobs``  hardened file backend (the embedded default)
``sqlite:///srv/jobs.db``              SQLite, WAL, ``synchronous=FULL``
``postgresql://user@host/db``          PostgreSQL (``?table=``, ``pool_max=``, ``retry_seconds=``)
``phase470:///dir``, ``naive:///dir``  the incident's reference designs (known defects)
=====================================  =============================================

Three slashes mean an absolute path (``file:///srv/jobs`` is ``/srv/jobs``); a path after a
bare ``file:`` or ``sqlite:`` is relative to the working directory. A plain path with no scheme
is a file store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from durable_jobs.errors import StoreConfigError

ENV_URL = "DURABLE_JOBS_URL"
DEFAULT_URL = "file:data/jobs"
_PATH_SCHEMES = ("file", "sqlite", "phase470", "naive")


@runtime_checkable
class BasicJobStore(Protocol):
    """The least a job store offers: the two calls of the incident's application."""

    def save_job(self, job_id: str, job: dict[str, Any]) -> None: ...

    def get_job(self, job_id: str) -> dict[str, Any] | None: ...


@runtime_checkable
class JobStore(BasicJobStore, Protocol):
    """A complete job store: every backend of ``durable_jobs`` except the reference variants."""

    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    def list_jobs(self) -> list[str]: ...

    def delete_job(self, job_id: str) -> bool: ...

    def recover(self) -> Any: ...

    def close(self) -> None: ...


def open_store(url: str | os.PathLike[str] | None = None) -> Any:
    """Open the store named by ``url``, else ``$DURABLE_JOBS_URL``, else ``file:data/jobs``.

    Raises :class:`StoreConfigError` for a URL it cannot open, naming the accepted forms.
    """
    if url is None:
        url = os.environ.get(ENV_URL) or DEFAULT_URL
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url.strip():
        raise StoreConfigError(f"store URL must be a non-empty string, got {url!r}")
    scheme, colon, rest = url.partition(":")
    if colon and not rest and scheme.lower() in _PATH_SCHEMES:
        # Else "file:" would quietly become a directory named "file:" in the working directory.
        raise StoreConfigError(f"{url!r} has no path: use {scheme}:///absolute/path")
    if not rest or "/" in scheme or len(scheme) < 2:
        return _file_store(Path(url))  # a plain path (a Windows drive letter is not a scheme)
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres"):
        from durable_jobs.postgres_store import PostgresJobStore

        return PostgresJobStore(url)
    if scheme not in _PATH_SCHEMES:
        raise StoreConfigError(
            f"unknown store URL scheme {scheme!r} in {url!r}: use file:///dir, sqlite:///file.db, "
            "postgresql://user@host/db, phase470:///dir or naive:///dir"
        )
    path = _path_of(url, scheme)
    if scheme == "file":
        return _file_store(path)
    if scheme == "sqlite":
        from durable_jobs.sqlite_store import SqliteJobStore

        return SqliteJobStore(path)
    if scheme in ("phase470", "naive"):
        from durable_jobs.legacy import NaiveJobStore, Phase470JobStore

        return Phase470JobStore(path) if scheme == "phase470" else NaiveJobStore(path)
    raise AssertionError(scheme)  # every scheme of _PATH_SCHEMES is handled above


def _path_of(url: str, scheme: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise StoreConfigError(
            f"{url!r} names a host ({parts.netloc!r}); a {scheme} store is local: "
            f"use {scheme}:///absolute/path or {scheme}:relative/path"
        )
    path = unquote(parts.path)
    if not path:
        raise StoreConfigError(f"{url!r} has no path: use {scheme}:///absolute/path")
    return Path(path)


def _file_store(path: Path) -> Any:
    from durable_jobs.file_store import FileJobStore

    return FileJobStore(path)
