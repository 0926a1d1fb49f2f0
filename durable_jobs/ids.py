"""Job ids become file names, so they are validated before anything touches the disk.

A valid id is 1 to 128 characters, each an ASCII letter, a digit, ``.``, ``-`` or ``_``, and
the first is not a ``.``::

    >>> validate_job_id("job-42_a.v2")
    'job-42_a.v2'
    >>> validate_job_id("../etc/passwd")
    Traceback (most recent call last):
    ...
    durable_jobs.errors.InvalidJobIdError: invalid job id '../etc/passwd': ...

Why this is safe as a file name: there is no separator, so no id leaves the store's directory;
no id starts with ``.``, so none is ``.`` or ``..``, none is hidden, and none can be a temp file
(those start with ``.``). An id that looks like a store file is still its own job: the job file
of ``x`` is ``x.json`` and of ``x.json.bak`` is ``x.json.bak.json``; a job file always ends in
``.json`` and a backup in ``.json.bak``, so no job's file is another job's backup.
"""

from __future__ import annotations

import re

from durable_jobs.errors import InvalidJobIdError

MAX_JOB_ID_LENGTH = 128
_JOB_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def is_valid_job_id(job_id: object) -> bool:
    """True when ``job_id`` is a string that :func:`validate_job_id` accepts."""
    return isinstance(job_id, str) and _JOB_ID.fullmatch(job_id) is not None


def validate_job_id(job_id: object) -> str:
    """Return ``job_id`` unchanged if it is valid, else raise :class:`InvalidJobIdError`."""
    if isinstance(job_id, str) and _JOB_ID.fullmatch(job_id) is not None:
        return job_id
    raise InvalidJobIdError(f"invalid job id {job_id!r}: {_why_invalid(job_id)}")


def _why_invalid(job_id: object) -> str:
    if not isinstance(job_id, str):
        return f"expected a string, got {type(job_id).__name__}"
    if not job_id:
        return "it is empty"
    if len(job_id) > MAX_JOB_ID_LENGTH:
        return f"it has {len(job_id)} characters, at most {MAX_JOB_ID_LENGTH} are allowed"
    if job_id.startswith("."):
        return "it starts with '.' (a hidden file name; start with a letter, digit, '-' or '_')"
    bad = next(ch for ch in job_id if not (ch.isascii() and (ch.isalnum() or ch in ".-_")))
    return f"character {bad!r} is not allowed (use letters, digits, '.', '-' and '_')"
