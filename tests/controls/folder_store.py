"""Control store: one folder per job. Unusual, and correct.

Layout of a store rooted at ``root``::

    root/j0/job.json                   the job: a CRC-32 line, then the job as JSON
    root/j0/job.json.bak               the previous good version
    root/j0/.job.json.<random>.tmp     a save in progress (orphaned only if its writer died)
    root/j0/.lock                      flock serialising the saves and updates of j0

It is the corpus's ``base`` store (``tests/broken_stores/base.py``: temp file, fsync, rename the
current file to the backup, rename the temp file in, fsync) with the files of each job in a
folder of its own. What the folder adds, and how it stays correct: the directory fsync after the
renames is of the job's folder, where they happen; the first save of a job also fsyncs the root,
where the folder's own name lives, so an acknowledged first save survives a power cut.

The store tells the harness where each job's files are with ``paths_for`` and declares its lock
files with ``owned_paths()`` (``*/.lock``): the no-litter check must not call them litter, and
they are not temp files to remove.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "broken_stores"))

from base import BaseStore  # the corpus's correct base store

JOB_FILE = "job.json"
LOCK_FILE = ".lock"


class FolderStore(BaseStore):
    """One folder per job (see the module docstring)."""

    def owned_paths(self) -> list[str]:
        return [f"*/{LOCK_FILE}"]

    def _folder(self, job_id: str) -> str:
        return os.path.join(self.root, job_id)

    def _main(self, job_id: str) -> str:
        return os.path.join(self.root, job_id, JOB_FILE)

    def _backup(self, job_id: str) -> str:
        return os.path.join(self.root, job_id, JOB_FILE + ".bak")

    def _temp_path(self, job_id: str) -> str:
        return os.path.join(self.root, job_id, f".{JOB_FILE}.{secrets.token_hex(4)}.tmp")

    def _install(self, job_id: str, data: bytes) -> None:
        """The base's install, with the renames made durable in the job's own folder."""
        main = self._main(job_id)
        first = not os.path.exists(main) and not os.path.exists(self._backup(job_id))
        temp = self._write_temp(job_id, data)
        try:
            if isinstance(self._read(main), dict):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(main, self._backup(job_id))
            os.replace(temp, main)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_directory(self._folder(job_id))  # both renames happened here
        if first:
            _fsync_directory(self.root)  # the folder's name, so the first save survives too

    def _remove_temp_files(self) -> list[str]:
        removed = []
        for job_id in self._job_ids():
            for name in sorted(os.listdir(self._folder(job_id))):
                if not (name.startswith(f".{JOB_FILE}.") and name.endswith(".tmp")):
                    continue
                try:
                    with self._locked(job_id, blocking=False):  # a live writer holds it
                        os.unlink(os.path.join(self._folder(job_id), name))
                        removed.append(f"{job_id}/{name}")
                except (BlockingIOError, FileNotFoundError):
                    pass
        return removed

    def _job_ids(self) -> list[str]:
        return sorted(name for name in os.listdir(self.root) if os.path.isdir(self._folder(name)))

    @contextlib.contextmanager
    def _locked(self, job_id: str, *, blocking: bool = True) -> Iterator[None]:
        os.makedirs(self._folder(job_id), exist_ok=True)
        fd = os.open(os.path.join(self._folder(job_id), LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield
        finally:
            os.close(fd)


def _fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_store(root: Path) -> FolderStore:
    """The harness factory: ``--store tests/controls/folder_store.py:make_store``."""
    return FolderStore(root)


__all__ = ["FolderStore", "make_store"]
