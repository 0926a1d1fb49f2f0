"""Job ids become file names, so they are validated before anything touches the disk.

A valid id is 1 to 128 characters, each a letter, a digit, ``-`` or ``_``::

    >>> validate_job_id("job-42_a")
    'job-42_a'
    >>> validate_job_id("../etc/passwd")
    Traceback (most recent call last):
    ...
    durable_jobs.errors.InvalidJobIdError: invalid job id '../etc/passwd': ...

The rule excludes ``.`` on purpose: with no dot, no id can climb out of the store's directory
(``..``), hide itself (``.x``), or collide with the store's own files (``x.json.bak``, temp files).
"""

from __future__ import annotations

import re

from durable_jobs.errors import InvalidJobIdError

MAX_JOB_ID_LENGTH = 128
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


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
    bad = next(ch for ch in job_id if not (ch.isascii() and (ch.isalnum() or ch in "-_")))
    return f"character {bad!r} is not allowed (use letters, digits, '-' and '_')"
