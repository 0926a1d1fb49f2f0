"""Control store: every job in one append-only log file. Unusual, and correct.

A control is a store the harness must *pass*: a design it has never seen, correct in its own
way. A verdict that fails it is a false alarm (see ``tests/test_checks_controls.py``).

Layout of a store rooted at ``root``::

    root/jobs.log     every version of every job, one record a line, appended, never rewritten
    root/jobs.lock    flock serialising the appends (and recover)

A record is ``<crc32 of the rest, 8 hex> <job id> <job as JSON>\\n``. The newest record of a
job whose checksum holds is its current version. How it stays correct:

* a save appends one record and fsyncs the log before it returns, under the lock: a crash
  leaves the record complete, or torn at the end of the file, where its checksum fails and
  readers skip it (it was never acknowledged);
* before appending, a save that finds the log not ending in a newline (a writer killed
  mid-record) starts a new line, so a torn record never swallows the next one;
* readers take no lock: a record being appended is either complete or fails its checksum;
* ``recover()`` cuts a torn last record and fails every queued or running job whose owner
  process is gone (by appending its ``error`` version).

The store declares ``jobs.log`` and ``jobs.lock`` with ``owned_paths()``: they belong to no one
job, so without the declaration the no-litter check would have to guess. It has no
``paths_for``: no file holds one job alone, and damage scenarios are not applicable to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "broken_stores"))

from base import _is_abandoned  # the corpus's rule: no live owner process

LOG = "jobs.log"
LOCK = "jobs.lock"


class LogStore:
    """Every job in one append-only log (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = os.fspath(Path(root).absolute())
        os.makedirs(self.root, exist_ok=True)
        self.log = os.path.join(self.root, LOG)

    def owned_paths(self) -> list[str]:
        """The log and its lock: the store's own files, shared by every job."""
        return [LOG, LOCK]

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        with self._locked():
            try:
                self._append(job_id, job)
            except OSError as error:  # raised, never swallowed; the message names the job
                raise OSError(
                    error.errno, f"saving job {job_id!r} failed: {error.strerror}"
                ) from error

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        try:
            with open(self.log, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            return {"id": job_id, "status": "unknown", "error": f"job {job_id!r}: {LOG}: {error}"}
        return _latest(data, job_id)

    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self._locked():  # the read-modify-write is one step for every other writer
            current = self.get_job(job_id)
            if current is None:
                raise LookupError(f"job {job_id!r} cannot be updated: it does not exist")
            job = dict(current)
            job.update(changes)
            try:
                self._append(job_id, job)
            except OSError as error:
                raise OSError(
                    error.errno, f"updating job {job_id!r} failed: {error.strerror}"
                ) from error
            return job

    def recover(self) -> dict[str, Any]:
        """Cut a torn last record, then fail the jobs whose worker died."""
        failed = []
        with self._locked():
            cut = self._cut_torn_tail()
            with open(self.log, "rb") as file:
                data = file.read()
            for job_id in sorted(_job_ids(data)):
                job = _latest(data, job_id)
                if job is not None and _is_abandoned(job):
                    job = dict(job)
                    job["error"] = (
                        f"abandoned: the worker stopped while job {job_id} was "
                        f"{job.get('status')!r}; failed on recovery, resubmit it"
                    )
                    job["status"] = "error"
                    self._append(job_id, job)
                    failed.append(job_id)
        return {"torn_bytes_cut": cut, "jobs_failed": failed}

    # ---------------------------------------------------------------- log

    def _append(self, job_id: str, job: dict[str, Any]) -> None:
        """Append one record and fsync; the caller holds the lock."""
        body = f"{job_id} ".encode() + json.dumps(job, separators=(",", ":")).encode()
        record = b"%08x " % zlib.crc32(body) + body + b"\n"
        fd = os.open(self.log, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                record = b"\n" + record  # a torn record before us: start a line of our own
            created = size == 0
            view = memoryview(record)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)  # the record is durable before the save is acknowledged
        finally:
            os.close(fd)
        if created:
            _fsync_directory(self.root)  # the log's name, the first time

    def _cut_torn_tail(self) -> int:
        """Truncate a last record that has no newline (its writer died); the caller holds the lock."""
        try:
            with open(self.log, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return 0
        if not data or data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        fd = os.open(self.log, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, keep)
            os.fsync(fd)
        finally:
            os.close(fd)
        return len(data) - keep

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(os.path.join(self.root, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _records(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(job id, job JSON) of every record whose checksum holds, newest first."""
    for line in reversed(data.split(b"\n")):
        crc, _, body = line.partition(b" ")
        if len(crc) != 8 or not body:
            continue
        try:
            if int(crc, 16) != zlib.crc32(body):
                continue
        except ValueError:
            continue
        job_id, _, job = body.partition(b" ")
        yield job_id.decode(), job


def _latest(data: bytes, job_id: str) -> dict[str, Any] | None:
    for found, job in _records(data):
        if found == job_id:
            value = json.loads(job)
            return value if isinstance(value, dict) else None
    return None


def _job_ids(data: bytes) -> set[str]:
    return {job_id for job_id, _ in _records(data)}


def _fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_store(root: Path) -> LogStore:
    """The harness factory: ``--store tests/controls/log_store.py:make_store``."""
    return LogStore(root)
