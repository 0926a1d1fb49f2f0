"""The file store's lock stripes: ``flock`` on ``.locks/NN.lock`` serialising writers of a job.

A job id hashes (crc32) to one of :data:`LOCK_STRIPES` lock files, so the number of lock files
stays fixed however many jobs there are; two jobs that share a stripe merely wait for each other.

>>> locks = StripeLocks("/tmp/store")                   # doctest: +SKIP
>>> with locks.locked("a1"):                            # doctest: +SKIP
...     ...  # read, write the temp file, rename: no other writer of a1 runs meanwhile
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import zlib

import durable_jobs.forks as forks
from durable_jobs.errors import DurabilityError, describe_os_error
from durable_jobs.file_layout import LOCK_DIR

LOCK_STRIPES = 64


class StripeLocks:
    """The lock stripes of one store, with this thread's descriptors of their lock files.

    ``flock`` locks belong to an open file description, so every thread keeps descriptors
    of its own: two threads of one process exclude each other like two processes do. The
    kernel drops the lock when its holder dies, so a killed writer never blocks the others.
    """

    def __init__(self, root: str) -> None:
        self._root = root
        self._fds = threading.local()

    def locked(self, name: str, *, blocking: bool = True) -> StripeLock:
        """Hold the exclusive lock of ``name``'s stripe (raises BlockingIOError if not blocking)."""
        return StripeLock(self, zlib.crc32(name.encode()) % LOCK_STRIPES, blocking)

    def acquire(self, name: str) -> int:
        """Take the exclusive lock of ``name``'s stripe, waiting for it; return the descriptor.

        The save's path: a plain call and a ``try``/``finally`` around :meth:`release`, where a
        ``with`` block would build a :class:`StripeLock` object on every save.
        """
        return lock_stripe(self, zlib.crc32(name.encode()) % LOCK_STRIPES, fcntl.LOCK_EX)

    @staticmethod
    def release(fd: int) -> None:
        """Drop the lock :meth:`acquire` took."""
        fcntl.flock(fd, fcntl.LOCK_UN)

    def fd(self, stripe: int) -> int:
        """This thread's descriptor of a stripe's lock file, opened once and kept.

        Kept open because opening and closing it on every save cost more than the lock itself.
        A forked child shares its parent's open file descriptions, and with them their locks,
        so a child opens its own.
        """
        local = self._fds
        if getattr(local, "generation", None) != forks.generation:
            local.generation, local.fds = forks.generation, {}
        fd = local.fds.get(stripe)
        if fd is None:
            fd = local.fds[stripe] = self._open(f"{self._root}/{LOCK_DIR}/{stripe:02d}.lock")
        return fd

    def _open(self, path: str) -> int:
        """Open a lock file read-only, creating it (and its folder) on first use.

        Read-only because ``flock`` needs no write access, and a descriptor open for writing,
        kept for the life of the process, would make ``mount -o remount,ro`` fail with EBUSY.
        """
        try:
            try:
                return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                pass
            try:
                return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:  # the lock folder itself was removed
                os.makedirs(os.path.dirname(path), exist_ok=True)
                return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise DurabilityError(
                f"cannot open the lock file {path!r}: {describe_os_error(error)}"
            ) from error

    def reopen_writable(self, stripe: int) -> int:
        """Replace this thread's descriptor of ``stripe`` by one open for reading and writing."""
        path = f"{self._root}/{LOCK_DIR}/{stripe:02d}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as error:
            raise DurabilityError(
                f"cannot open the lock file {path!r}: {describe_os_error(error)}"
            ) from error
        with contextlib.suppress(OSError):
            os.close(self._fds.fds[stripe])
        self._fds.fds[stripe] = fd
        return fd

    def close(self) -> None:
        """Close this thread's lock descriptors (other threads' close when they end)."""
        local = self._fds
        if getattr(local, "generation", None) == forks.generation:
            for fd in local.fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
        local.generation, local.fds = None, {}


class StripeLock:
    """``with`` block holding one lock stripe (a class: cheaper than a generator on every save)."""

    __slots__ = ("blocking", "fd", "locks", "stripe")

    def __init__(self, locks: StripeLocks, stripe: int, blocking: bool) -> None:
        self.locks, self.stripe, self.blocking = locks, stripe, blocking
        self.fd = -1

    def __enter__(self) -> None:
        operation = fcntl.LOCK_EX if self.blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
        self.fd = lock_stripe(self.locks, self.stripe, operation)

    def __exit__(self, *exc_info: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)


def lock_stripe(locks: StripeLocks, stripe: int, operation: int) -> int:
    """``flock`` this thread's descriptor of ``stripe`` with ``operation``; return it."""
    fd = locks.fd(stripe)
    try:
        fcntl.flock(fd, operation)
    except OSError as error:
        if error.errno != errno.EBADF:
            raise
        # NFS turns flock into a POSIX write lock, which needs a descriptor open for
        # writing: there, and only there, the stripe's lock file is reopened read-write.
        fd = locks.reopen_writable(stripe)
        fcntl.flock(fd, operation)
    return fd
