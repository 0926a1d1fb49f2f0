"""Durable result files: a job's output appears complete under its final name, or not at all.

A job is marked ``done`` only after its result file is on disk, so a client that sees ``done``
can always download it, even after a power cut. The file is written the way the file store
writes jobs::

    with write_durably(results_dir, "a1.csv") as stream:
        csv.writer(stream).writerows(rows)
    # here results_dir/a1.csv is complete and durable; on an exception nothing was created

Layout of the results directory::

    data/results/a1.csv                          a finished job's result
    data/results/.a1.csv.<pid>.<random>.tmp      a result being written by process <pid>

A temp file whose process is gone was left by a crash; :func:`remove_orphaned_temp_files`
deletes those at start-up. The pid in the name is what tells them from the temp files of
another live server process sharing the directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from durable_jobs.lifecycle import process_start_time

RESULT_SUFFIX = ".csv"
TEMP_SUFFIX = ".tmp"


def result_name(job_id: str) -> str:
    """The file name of a job's result (the id is already validated: no path can escape)."""
    return f"{job_id}{RESULT_SUFFIX}"


@contextlib.contextmanager
def write_durably(directory: Path, name: str) -> Iterator[TextIO]:
    """Yield a UTF-8 text stream whose content becomes ``directory/name`` atomically and durably.

    Steps, and the crash each protects against:
      1. write a uniquely named temp file beside the target: two writers never share bytes, and
         a crash leaves only a temp file, never a half-written result under the real name; the
         writer holds an ``flock`` on it until the rename, so no start-up (of another instance,
         in another pid namespace, whose pid lookup says nothing about this one) removes it;
      2. fsync the temp file: its bytes are on disk before any name points at them;
      3. rename it over the target: readers see the old file or the new one, never a mix;
      4. fsync the directory: the rename itself survives a power cut.

    On an exception inside the ``with`` block (or in a step above) the temp file is removed and
    the exception propagates; ``directory/name`` is untouched.
    """
    os.makedirs(directory, exist_ok=True)
    temp = directory / f".{name}.{os.getpid()}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    # A second descriptor of the same open file keeps the lock after the stream is closed
    # (before the rename), until the rename is done or the temp file removed.
    lock_fd = os.dup(fd)
    # newline="": the csv module writes its own \r\n line ends and must not have them translated.
    stream = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed on every path)
    try:
        yield stream
        stream.flush()
        os.fsync(stream.fileno())
        stream.close()  # close may report a deferred write error; it must not be ignored
        os.replace(temp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            stream.close()
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    finally:
        os.close(lock_fd)
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    """Make the latest renames in ``directory`` durable (a rename changes the directory)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_orphaned_temp_files(directory: Path) -> list[str]:
    """Delete temp files left in ``directory`` by processes that died; return their names.

    Call it at start-up, before this process writes anything: a temp file naming this
    process's own pid then belongs to an earlier process that had the same pid. A temp file
    whose ``flock`` is held is kept whatever its pid says: its writer is alive, perhaps in
    another pid namespace sharing this folder, where the pid names another process.
    """
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return removed
    for entry in entries:
        pid = _writer_pid(entry.name)
        if pid is None:
            continue
        writer_gone = pid == os.getpid() or process_start_time(pid) is None
        if writer_gone and _remove_unless_locked(entry.path):
            removed.append(entry.name)
    return removed


def _remove_unless_locked(path: str) -> bool:
    """Unlink ``path`` unless a live writer holds its ``flock``; True if it was removed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path)  # under the lock: no writer can be between its open and its rename
        return True
    except (BlockingIOError, FileNotFoundError):
        return False
    finally:
        os.close(fd)


def _writer_pid(file_name: str) -> int | None:
    """The pid in ``.<name>.<pid>.<random>.tmp``, or None for any other file."""
    if not (file_name.startswith(".") and file_name.endswith(TEMP_SUFFIX)):
        return None
    parts = file_name[: -len(TEMP_SUFFIX)].rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1])
