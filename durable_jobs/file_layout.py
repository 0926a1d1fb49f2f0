"""Where the file store keeps what: file names, suffixes, and which job a file belongs to.

Layout of a store rooted at ``data/jobs``::

    data/jobs/a1.json                 the job (see durable_jobs.encoding for the format)
    data/jobs/a1.json.bak             the previous good version, the fallback for damage
    data/jobs/.a1.json.<random>.tmp   a write in progress (orphaned only if its writer died)
    data/jobs/.locks/NN.lock          lock stripes serialising writers of the same job

>>> job_id_of("a1.json.bak")
'a1'
>>> job_id_of_temp(".report.v2.json.a1b2c3d4e5f6.tmp")
'report.v2'

Paths are plain strings on purpose: this is the hot path, and ``pathlib`` objects would cost
more than the read they wrap.
"""

from __future__ import annotations

import itertools
import secrets

import durable_jobs.forks as forks
from durable_jobs.ids import is_valid_job_id

JOB_SUFFIX = ".json"
BACKUP_SUFFIX = ".json.bak"
TEMP_SUFFIX = ".tmp"
LOCK_DIR = ".locks"


def job_path(root: str, name: str) -> str:
    """The job file of ``name`` in the store at ``root`` (an absolute path)."""
    return f"{root}/{name}{JOB_SUFFIX}"


def backup_path(root: str, name: str) -> str:
    """The backup of ``name``'s job file: the previous good version."""
    return f"{root}/{name}{BACKUP_SUFFIX}"


_temp_counter = itertools.count()  # next() on a count is atomic under the GIL: threads never share
_process_tag: tuple[int, str] = (-1, "")  # (fork generation, random tag), new in a child


def new_temp_path(root: str, name: str) -> str:
    """A fresh temp file name for a write of ``name``: ``.<id>.json.<tag><counter>.tmp``.

    The tag is random once per process and the counter counts this process's temp files, so
    names never repeat between live processes or within one, for the price of a counter rather
    than a call for random bytes on every save. A name left by a dead process that happens to
    match is not overwritten: the temp file is created with ``O_EXCL``, and the writer then asks
    for :func:`random_temp_path` instead.
    """
    global _process_tag
    if _process_tag[0] != forks.generation:
        _process_tag = (forks.generation, secrets.token_hex(5))
    return f"{root}/.{name}{JOB_SUFFIX}.{_process_tag[1]}{next(_temp_counter):x}{TEMP_SUFFIX}"


def random_temp_path(root: str, name: str) -> str:
    """A temp file name with 12 random hex digits, for when :func:`new_temp_path`'s was taken."""
    return f"{root}/.{name}{JOB_SUFFIX}.{secrets.token_hex(6)}{TEMP_SUFFIX}"


def is_temp_name(file_name: str) -> bool:
    """Whether ``file_name`` looks like a temp file (hidden, ``.tmp``); the job may be unknown."""
    return file_name.startswith(".") and file_name.endswith(TEMP_SUFFIX)


def job_id_of(file_name: str) -> str | None:
    """The job id a job file or backup belongs to, or None for any other file."""
    if file_name.endswith(JOB_SUFFIX):
        candidate = file_name[: -len(JOB_SUFFIX)]
    elif file_name.endswith(BACKUP_SUFFIX):
        candidate = file_name[: -len(BACKUP_SUFFIX)]
    else:
        return None
    return candidate if is_valid_job_id(candidate) else None


def job_id_of_temp(file_name: str) -> str | None:
    """The job whose save made the temp file ``.<id>.json.<random>.tmp``, or None.

    The id is what lies between the leading dot and the last ``.json.``: ids may hold dots
    themselves (``report.v2``), so the name is taken apart from its end, never split at the
    first dot (which once pointed recovery at the wrong job's lock and let it delete the temp
    file of a live writer: its rename then failed with ENOENT).

    >>> job_id_of_temp(".report.v2.json.a1b2c3d4e5f6.tmp")
    'report.v2'
    >>> job_id_of_temp(".notes.tmp") is None
    True
    """
    if not is_temp_name(file_name):
        return None
    stem, _, _random = file_name[1 : -len(TEMP_SUFFIX)].rpartition(".")
    if not stem.endswith(JOB_SUFFIX):
        return None
    candidate = stem[: -len(JOB_SUFFIX)]
    return candidate if is_valid_job_id(candidate) else None
