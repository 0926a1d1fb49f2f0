"""The exceptions of ``durable_jobs``: one root, a few precise children.

Every error the store raises on purpose is a :class:`JobStoreError`, so an application can catch
the whole family in one place::

    try:
        store.save_job(job_id, job)
    except JobStoreError as error:
        log.error("job %s not saved: %s", job_id, error)

The children that report a caller's mistake also derive from :class:`ValueError`, so code written
against plain Python conventions keeps working. Two questions a caller asks of any failure:

* **Will retrying help?** :class:`StoreUnavailableError` says yes: the store cannot be reached
  now (a database restarting, a dropped connection that could not be replaced in time, every
  pooled connection busy); its ``retry_after`` says when to try again. A web API answers 503
  with ``Retry-After``.
* **Is it the caller's input?** The :class:`ValueError` children (:class:`InvalidJobIdError`,
  :class:`InvalidJobError`, :class:`StoreConfigError`) are permanent: resending the same thing
  fails the same way. A web API answers 4xx.

A backend never lets a raw ``OSError`` or driver error through: :func:`describe_os_error` turns
the ``errno`` into the cause and its fix, for every backend's messages to share::

    >>> describe_os_error(OSError(30, "Read-only file system"), "/srv/jobs")[:60]
    'EROFS (Read-only file system) on /srv/jobs: the file system i'
"""

from __future__ import annotations

import errno
import os


class JobStoreError(Exception):
    """Root of every error raised on purpose by ``durable_jobs``."""


class InvalidJobIdError(JobStoreError, ValueError):
    """A job id that could never name a job (it becomes a file name, so it is checked strictly)."""


class InvalidJobError(JobStoreError, ValueError):
    """A job that is not a dict, or that JSON cannot encode; refused before anything is written."""


class JobNotFoundError(JobStoreError, KeyError):
    """``update_job`` was asked to change a job that does not exist."""

    def __str__(self) -> str:  # KeyError quotes its argument; a sentence reads better.
        return str(self.args[0]) if self.args else "job not found"


class JobUnreadableError(JobStoreError):
    """The job exists but neither its file nor its backup can be read, so it cannot be updated."""


class DurabilityError(JobStoreError):
    """A write could not be made durable, so it is not acknowledged.

    The message says what failed (the system call and its error) and what state the job is in:
    the previous version intact, or the new version visible but possibly not on disk yet.
    """


class LeaseLostError(JobStoreError):
    """A fenced write was refused: the stored job is not what the writer expected.

    ``update_job(job_id, changes, expect={"lease.token": token})`` raises it when the job's
    lease token is no longer ``token``: the writer's lease expired and another instance rescued
    the job (a worker paused past its lease, then resumed). Nothing was written. The fix is not
    to retry: the writer no longer owns the job and must stop working on it.
    """


class StoreConfigError(JobStoreError, ValueError):
    """``open_store`` was given a URL it cannot open (unknown scheme, missing path, bad option)."""


class StoreUnavailableError(JobStoreError):
    """The store cannot be reached now; the same call may succeed later (a transient outage).

    Causes: the database server is down, restarting or refusing connections (``too many
    clients``), a dropped connection could not be replaced within the retry budget, every pooled
    connection stayed busy, or another process held SQLite's write lock past its busy timeout.
    The fix is to retry after ``retry_after`` seconds; if it persists, look at the server. A write
    that raised this was not acknowledged: it may or may not have been applied (its connection
    dropped after sending it), so read the job before assuming either.
    """

    def __init__(self, message: str, *, retry_after: float = 2.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_OS_ERROR_FIXES = {
    errno.EROFS: "the file system is mounted read-only; remount it read-write or move the store "
    "to a writable one",
    errno.EACCES: "permission denied; give the service's user write access, or run it as the "
    "folder's owner",
    errno.EPERM: "operation not permitted; check the folder's owner, mode and attributes "
    "(chattr +i)",
    errno.ENOSPC: "no space left on the device; free space or move the store to a larger disk",
    errno.EDQUOT: "the disk quota is exhausted; free space or raise the quota",
    errno.EIO: "an I/O error from the device; check the disk (dmesg) before trusting this store",
    errno.ENOENT: "no such file or directory; the store's folder was removed or moved while in use",
    errno.EMFILE: "too many open files in this process; raise the limit (ulimit -n)",
    errno.ENFILE: "too many open files on this system; raise fs.file-max",
}


def describe_os_error(error: OSError, where: str | os.PathLike[str] | None = None) -> str:
    """``error`` as its errno's name and text, where it happened, and what to do about it."""
    code = error.errno
    name = errno.errorcode.get(code, f"errno {code}") if code is not None else type(error).__name__
    place = where if where is not None else error.filename
    text = f"{name} ({error.strerror or error})"
    if place is not None:
        text += f" on {os.fspath(place)}"
    fix = _OS_ERROR_FIXES.get(code) if code is not None else None
    return f"{text}: {fix}" if fix else text
