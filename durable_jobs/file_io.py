"""The file store's system calls: read and verify one file, write a temp file durably, fsync a
directory, and the record a read produces (:class:`FileState`).

Every function here either returns what it found or raises :class:`DurabilityError` with a
message that names the job, the step and the ``errno`` (``ENOSPC``, ``EROFS``, ...): the store
never lets a raw ``OSError`` from a write reach its callers, and never acknowledges a write that
was not made durable.

>>> FileState(None, "missing").is_missing
True
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from typing import Any, NamedTuple

import durable_jobs.forks as forks
from durable_jobs.encoding import DamagedFileError, DecodedJob, decode_file, verify_file
from durable_jobs.errors import DurabilityError, describe_os_error
from durable_jobs.file_layout import new_temp_path, random_temp_path
from durable_jobs.steps import mark

OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


class FileState(NamedTuple):
    """One of a job's two files as read from disk: decoded, or the reason it is not usable.

    A named tuple rather than a frozen dataclass: a save builds one, and a tuple is built in a
    fraction of the time.
    """

    decoded: DecodedJob | None
    problem: str | None  # None when good; "missing" when the file does not exist
    raw: bytes | None = None
    version: int | None = None  # set when the file is good (verified, parsed or not)

    @property
    def is_missing(self) -> bool:
        return self.problem == "missing"

    @property
    def is_good(self) -> bool:
        return self.version is not None


MISSING = FileState(None, "missing")


def read_all(fd: int) -> bytes:
    """Read a whole file. Sized by fstat, because os.read allocates the full size it is asked."""
    size = os.fstat(fd).st_size
    data = os.read(fd, size + 1)
    if len(data) <= size:
        return data  # a short read of a regular file means end of file: no second call needed
    chunks = [data]
    while chunk := os.read(fd, 1 << 16):  # the file grew (someone else's writer): keep reading
        chunks.append(chunk)
    return b"".join(chunks) if len(chunks) > 1 else data


def read_state(path: str, *, parse: bool = True) -> FileState:
    """Read and verify one file; ``parse=False`` skips parsing the job (saves need not)."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        return MISSING
    except OSError as error:
        return FileState(None, f"cannot be opened: {os_error(error)}")
    try:
        data = read_all(fd)
    except OSError as error:
        return FileState(None, f"cannot be read: {os_error(error)}")
    finally:
        os.close(fd)
    try:
        if not parse:
            return FileState(None, None, data, verify_file(data))
        decoded = decode_file(data)
    except DamagedFileError as damage:
        return FileState(None, str(damage), data)
    return FileState(decoded, None, data, decoded.version)


def write_temp(root: str, name: str, data: bytes) -> tuple[str, os.stat_result]:
    """Write ``data`` to a new temp file beside the job file and fsync it.

    Returns the temp file's path and its ``fstat`` taken once every byte is written: the
    identity the version cache records (:mod:`durable_jobs.file_versions`). Taking it also marks
    the file's timestamp as read, which is what makes the next write to the file change it.
    """
    temp = new_temp_path(root, name)
    try:
        try:
            fd = os.open(temp, CREATE_FLAGS, 0o644)
        except FileExistsError:  # a dead process's leftover with the same name: pick another
            temp = random_temp_path(root, name)
            fd = os.open(temp, CREATE_FLAGS, 0o644)
    except OSError as error:
        raise DurabilityError(
            f"cannot save job {name!r}: cannot create a temp file: "
            f"{describe_os_error(error, root)}; the previous version is intact"
        ) from error
    try:
        try:
            written = os.write(fd, data)
            if written < len(data):  # a short write (a signal, a huge file): write the rest
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(fd, view) :]
            # The identity before the fsync, which changes none of it (size, inode and times are
            # set by the writes): here the call runs on a warm CPU, not after the fsync's wait.
            status = os.fstat(fd)
            mark("write")
            os.fsync(fd)
        finally:
            os.close(fd)  # close can report a deferred write error too; it is not ignored
        mark("fsync")
    except OSError as error:
        unlink_quietly(temp)
        raise DurabilityError(
            f"cannot save job {name!r}: writing the new version failed: "
            f"{describe_os_error(error, root)}; the previous version is intact"
        ) from error
    return temp, status


class DirectorySync:
    """fsync of the store's directory through a descriptor each thread opens once and keeps.

    Opening and closing the directory on every save cost a path lookup and two system calls. The
    descriptor is read-only (it never keeps a read-only remount from succeeding) and per thread
    (``close`` never pulls one out from under another thread's fsync); a forked child opens its
    own, like the lock stripes do.

    Like the lock files, it stays bound to the directory it was opened on: a store's folder must
    not be replaced by another one while the store is open (its saves would go to the new folder
    by name and be fsynced, and locked, in the old one). Moving the data means closing the store.
    """

    def __init__(self, root: str) -> None:
        self._root = root
        self._local = threading.local()

    def fsync(self, action: str, name: str) -> None:
        """Make the renames in the directory durable; until then a power cut may undo them."""
        local = self._local
        try:
            fd = local.fd if getattr(local, "generation", None) == forks.generation else -1
            if fd < 0:
                fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                local.generation, local.fd = forks.generation, fd
            os.fsync(fd)
            mark("dir_fsync")
        except OSError as error:
            raise DurabilityError(
                f"{action} of job {name!r} is visible but not durable: fsync of the directory "
                f"failed: {describe_os_error(error, self._root)}; it may be undone by a power loss"
            ) from error

    def close(self) -> None:
        """Close this thread's descriptor (other threads' stay open until they call this)."""
        local = self._local
        if getattr(local, "generation", None) == forks.generation and local.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(local.fd)
        local.generation, local.fd = None, -1


def describe_both(main: FileState, backup: FileState) -> str:
    """What is wrong with each of a job's two files, for an error message."""
    return f"job file: {main.problem}; backup: {backup.problem}"


def error_job(name: str, reason: str) -> dict[str, Any]:
    """The job ``get_job`` returns when nothing readable is left: status ``unknown``."""
    # The message names the job itself: it is logged, and read, apart from the dict.
    return {"id": name, "status": "unknown", "error": f"job {name!r}: {reason}"}


def os_error(error: OSError) -> str:
    """``strerror (ECODE)``: the symbolic code is what an operator searches for."""
    code = errno.errorcode.get(error.errno or 0, "")
    return f"{error.strerror or error} ({code})" if code else str(error)


def unlink_quietly(path: str) -> None:
    """Remove a temp file on an error path; a failure here must not hide the first error."""
    with contextlib.suppress(OSError):
        os.unlink(path)
