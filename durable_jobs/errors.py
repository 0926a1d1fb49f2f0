"""The exceptions of ``durable_jobs``: one root, a few precise children.

Every error the store raises on purpose is a :class:`JobStoreError`, so an application can catch
the whole family in one place::

    try:
        store.save_job(job_id, job)
    except JobStoreError as error:
        log.error("job %s not saved: %s", job_id, error)

The children that report a caller's mistake also derive from :class:`ValueError`, so code written
against plain Python conventions keeps working.
"""

from __future__ import annotations


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


class StoreConfigError(JobStoreError, ValueError):
    """``open_store`` was given a URL it cannot open (unknown scheme, missing path, bad option)."""
