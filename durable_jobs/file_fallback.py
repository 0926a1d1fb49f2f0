"""What ``get_job`` does when the job file is missing or damaged: serve the backup, repair.

A reader that meets a bad job file does not retry it (an atomic replace means rereading the
same bytes cannot help). It reads the backup at once and, when no writer holds the job's lock,
rewrites the job file from it; the job it returns carries ``_recovered`` naming the damage::

    {"status": "running", "_recovered": "job file: truncated: 17 bytes, ...; served the backup"}

A missing job file with a good backup is also what a reader sees in the middle of a save,
between its two renames; that case is told apart by the lock (a writer holds it) and served
without a ``_recovered`` mark.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from durable_jobs.encoding import RECOVERED_KEY, encode_file, encode_job_body
from durable_jobs.errors import DurabilityError
from durable_jobs.file_io import FileState, describe_both, error_job, read_state
from durable_jobs.file_layout import backup_path, job_path
from durable_jobs.file_steps import StoreSteps

log = logging.getLogger("durable_jobs")

WRITER_WAIT_SECONDS = 2.0  # how long a reader with no readable copy waits for a busy writer


def serve_backup(store: StoreSteps, name: str, main: FileState) -> dict[str, Any] | None:
    """The job file is missing or damaged: serve the backup, repairing the job file from it."""
    backup = read_state(backup_path(store._root, name))
    if backup.decoded is None:
        if main.is_missing and backup.is_missing:
            return None
        # Before declaring the job unreadable, let a writer that is between its two renames
        # finish: its job file is missing for that moment, and the backup it just rotated
        # may be the very file that was damaged.
        settled = _read_after_writers(store, name)
        if settled.decoded is not None:
            return settled.decoded.job
        return error_job(name, describe_both(main, backup))
    # A missing job file with a good backup is also what a reader sees during a save, between
    # its two renames. The repair takes the job's lock without waiting: if a writer holds
    # it, the writer is about to put a new job file in place and no repair is needed.
    repaired = _repair_from_backup(store, name, blocking=False)
    if main.is_missing and repaired is None:
        return backup.decoded.job  # a save in progress: the backup *is* the current version
    job = dict(backup.decoded.job)
    job[RECOVERED_KEY] = f"job file: {main.problem}; served the backup (last good version)"
    if repaired is False:
        job[RECOVERED_KEY] += "; repairing the job file failed, see the log"
    log.warning("get_job(%r): job file: %s; served the backup", name, main.problem)
    return job


def _read_after_writers(store: StoreSteps, name: str) -> FileState:
    """Wait (bounded) until no writer holds the job's lock, then read the job file again."""
    deadline = time.monotonic() + WRITER_WAIT_SECONDS
    while True:
        try:
            with store._locked(name, blocking=False):
                break
        except DurabilityError:
            break  # no lock file can be made (a read-only store): no writer can be busy
        except BlockingIOError:
            if time.monotonic() > deadline:
                break  # a stuck writer must not hang readers: report what is there
            time.sleep(0.001)
    return read_state(job_path(store._root, name))


def _repair_from_backup(store: StoreSteps, name: str, *, blocking: bool) -> bool | None:
    """Rewrite a damaged or missing job file from its backup, under the job's lock.

    Returns True when repaired, False when the repair failed, None when there was nothing to
    do or a writer held the lock (it will install a new version itself).
    """
    try:
        with store._locked(name, blocking=blocking):
            current = read_state(job_path(store._root, name))
            if current.decoded is not None:
                return None  # a writer or another reader fixed it meanwhile
            backup = read_state(backup_path(store._root, name))
            if backup.decoded is None:
                return None
            version = store._next_version(name, current)
            body = encode_job_body(backup.decoded.job)
            # Keep the backup as it is: it stays the last good version until the next save. No
            # fsync of the directory: the backup keeps the version durable, and a read that
            # meets a damaged file pays one fsync in its p99, not two.
            data = encode_file(body, version)
            store._install(name, data, version=version, rotate=False)
            log.warning("job %r: job file repaired from its backup", name)
            return True
    except BlockingIOError:
        return None
    except Exception:
        log.exception("job %r: repairing the job file from its backup failed", name)
        return False
