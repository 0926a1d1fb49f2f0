"""The file store's lock stripes: ``flock`` on ``.locks/NN.lock`` serialising writers of a job.

A job id hashes (crc32) to one of :data:`LOCK_STRIPES` lock files, so the number of lock files
stays fixed however many jobs there are; two jobs that share a stripe merely wait for each other.

>>> locks = StripeLocks("/tmp/store")                   # doctest: +SKIP
>>> with locks.locked("a1"):                            # doctest: +SKIP
...     ...  # read, write the temp file, rename: no other writer of a1 runs meanwhile
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import zlib

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

    def fd(self, stripe: int) -> int:
        """This thread's descriptor of a stripe's lock file, opened once and kept.

        Kept open because opening and closing it on every save cost more than the lock itself.
        A forked child shares its parent's open file descriptions, and with them their locks,
        so a child opens its own.
        """
        local = self._fds
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            local.pid, local.fds = pid, {}
        fd = local.fds.get(stripe)
        if fd is None:
            path = f"{self._root}/{LOCK_DIR}/{stripe:02d}.lock"
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            try:
                fd = os.open(path, flags, 0o644)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(path, flags, 0o644)
            local.fds[stripe] = fd
        return fd

    def close(self) -> None:
        """Close this thread's lock descriptors (other threads' close when they end)."""
        local = self._fds
        if getattr(local, "pid", None) == os.getpid():
            for fd in local.fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
        local.pid, local.fds = None, {}


class StripeLock:
    """``with`` block holding one lock stripe (a class: cheaper than a generator on every save)."""

    __slots__ = ("blocking", "fd", "locks", "stripe")

    def __init__(self, locks: StripeLocks, stripe: int, blocking: bool) -> None:
        self.locks, self.stripe, self.blocking = locks, stripe, blocking
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = self.locks.fd(self.stripe)
        fcntl.flock(self.fd, fcntl.LOCK_EX if self.blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)

    def __exit__(self, *exc_info: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
