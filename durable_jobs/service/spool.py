"""Spooled uploads: a queued job's CSV, on disk and durable before ``POST /jobs`` answers 202.

A job that is queued must survive a crash of the server, so its input cannot live in memory.
Layout, under the results folder::

    data/results/.uploads/9f2c1e.csv                    the upload of queued/running job 9f2c1e
    data/results/.uploads/.9f2c1e.csv.<pid>.<rand>.tmp  an upload being written by process <pid>

Writing one, and the crash each step protects against (as :mod:`durable_jobs.service.results`):
a unique temp file (a crash leaves only a temp file, removed at the next start-up), fsync (the
bytes are on disk before a name points at them), rename (the upload appears whole or not at
all), fsync of the folder (the rename survives a power cut). Only then is the job recorded and
202 sent.

**Who runs a spooled job.** The process that spooled or adopted an upload holds an exclusive
``flock`` on it until the job ends; the kernel drops it when that process dies. At start-up a
server adopts every upload whose lock it can take (:meth:`UploadSpool.claim`): a live server's
jobs stay its own, a dead one's are picked up exactly once even when several servers start
together (``uvicorn --workers 3``). The job's upload is removed when the job ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from durable_jobs.ids import is_valid_job_id
from durable_jobs.service.results import TEMP_SUFFIX, fsync_directory, remove_orphaned_temp_files

SPOOL_FOLDER = ".uploads"
UPLOAD_SUFFIX = ".csv"
COPY_CHUNK_BYTES = 1024 * 1024


class UploadTooLarge(Exception):
    """The upload grew past the limit while it was copied into the spool."""


@dataclass(eq=False)
class SpooledUpload:
    """One job's upload on disk, held (flock) by this process while it is queued or running."""

    job_id: str
    path: Path
    size: int
    _fd: int = field(repr=False)

    def data(self) -> bytes | mmap.mmap:
        """The upload's bytes, mapped from the file: memory stays flat however large it is."""
        if self.size == 0:
            return b""
        return mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)

    def remove(self) -> None:
        """Delete the upload (its job ended) and let go of it."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.release()

    def release(self) -> None:
        """Let go of the upload, leaving it on disk for another server to adopt."""
        if self._fd >= 0:
            os.close(self._fd)  # closing drops the flock
            self._fd = -1


class UploadSpool:
    """The folder of spooled uploads of one results directory."""

    def __init__(self, results_dir: Path) -> None:
        self.folder = Path(results_dir) / SPOOL_FOLDER

    def prepare(self) -> list[str]:
        """Create the folder; remove temp files of dead writers; return their names."""
        os.makedirs(self.folder, exist_ok=True)
        return remove_orphaned_temp_files(self.folder)

    def write(self, job_id: str, source: BinaryIO, max_bytes: int) -> SpooledUpload:
        """Copy ``source`` into the spool durably and hold it; :class:`UploadTooLarge` past
        ``max_bytes`` (nothing is left behind then, nor on any other error)."""
        name = f"{job_id}{UPLOAD_SUFFIX}"
        temp = self.folder / f".{name}.{os.getpid()}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held from the start: no start-up adopts it early
            size = _copy(source, fd, max_bytes)
            os.fsync(fd)  # the bytes are on disk before the name points at them
            os.replace(temp, self.folder / name)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        try:
            fsync_directory(self.folder)  # the rename survives a power cut
        except BaseException:
            upload = SpooledUpload(job_id, self.folder / name, size, fd)
            upload.remove()
            raise
        return SpooledUpload(job_id, self.folder / name, size, fd)

    def claim(self, job_id: str) -> SpooledUpload | None:
        """Take the upload of ``job_id`` if it exists and no live process holds it."""
        path = self.folder / f"{job_id}{UPLOAD_SUFFIX}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None  # a live server runs it
        if not os.path.exists(path):  # removed between open and lock: the job just ended
            os.close(fd)
            return None
        return SpooledUpload(job_id, path, os.fstat(fd).st_size, fd)

    def exists(self, job_id: str) -> bool:
        return (self.folder / f"{job_id}{UPLOAD_SUFFIX}").exists()

    def job_ids(self) -> Iterator[str]:
        """The jobs with a spooled upload, whoever holds them."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return
        for name in sorted(names):
            job_id = name.removesuffix(UPLOAD_SUFFIX)
            if name.endswith(UPLOAD_SUFFIX) and is_valid_job_id(job_id):
                yield job_id


def _copy(source: BinaryIO, fd: int, max_bytes: int) -> int:
    size = 0
    while chunk := source.read(COPY_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise UploadTooLarge
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]
    return size
