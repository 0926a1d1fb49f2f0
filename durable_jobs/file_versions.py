"""What a save needs to know about the current job file, without reading it: the version cache.

Before it writes, a save must know two things about the current job file: its version (the new
one is one more) and whether it is good (only a good file may be rotated into the backup, or a
damaged file would replace the last good version). Reading and verifying the file answers both,
at the cost of a read and a checksum of the whole file: 1.5 ms of a 1 MB save.

The cache answers them from a ``stat``. When a save installs a file, it records the file's identity
(device, inode, size, modification time, taken by ``fstat`` on the new file once it is written in
full; the fsync changes none of them) and its version. The next save of that job, holding the job's
lock, ``stat``\\ s the job file: if the identity is the recorded one, the file is the one written
then, unchanged, so it is good and has that version. Any other writer (another process) installs a
new inode; any damage (truncate, overwrite, a flipped bit, a delete) changes the size or the
modification time. A mismatch simply means "read and verify as before".

"Damage changes the modification time" needs timestamps that tell two writes apart. With coarse
timestamps (one clock tick, 1-4 ms) a write in the same tick as ours would leave the time as it
was. Linux 6.13+ gives ext4, xfs, btrfs and tmpfs *multigrain* timestamps: once a timestamp has
been read (our ``fstat``), the next change gets a fresh fine-grained one. :func:`has_fine_timestamps`
checks that on the store's own filesystem, once, with a scratch file; where it fails the cache
stays off and every save reads the current file, as before.

>>> cache = VersionCache(enabled=True)
>>> identity = (1, 2, 3, 4)  # device, inode, size, mtime_ns: see identity_of()
>>> cache.remember("a1", identity, 7)
>>> cache.version_of("a1", identity), cache.version_of("a1", (1, 2, 3, 5))
(7, None)
"""

from __future__ import annotations

import contextlib
import os
import secrets

CACHE_ENTRIES = 4096  # jobs remembered per store and process; a miss only costs a read
_PROBE_CHANGES = 4  # a clock tick between two changes could fake a new time once, not 4 times


FileIdentity = tuple[int, int, int, int]
"""What ``stat`` says about a file that any change to it would alter: device, inode, size,
modification time in ns. A plain tuple: it is built twice on every save."""


def identity_of(status: os.stat_result) -> FileIdentity:
    """The :data:`FileIdentity` of a file from its ``stat`` or ``fstat``."""
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


class VersionCache:
    """Job name -> (identity, version) of the job file this process last installed.

    Read and written only by the holder of the job's lock; entries are facts about a file (this
    inode, unchanged, holds this good version), so they stay true in a forked child and across
    threads. Bounded: when full it starts again empty (a miss only costs a read).
    """

    def __init__(self, *, enabled: bool | None) -> None:
        self.enabled = enabled  # None: not decided yet (nothing is remembered meanwhile)
        self._entries: dict[str, tuple[FileIdentity, int]] = {}

    def version_of(self, name: str, identity: FileIdentity) -> int | None:
        """The version of the job file if ``identity`` is the one recorded for ``name``."""
        entry = self._entries.get(name)
        if entry is None or entry[0] != identity:
            return None
        return entry[1]

    def version_of_file(self, name: str, status: os.stat_result) -> int | None:
        """:meth:`version_of` for the file ``status`` describes (the hot path: no extra call)."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        identity = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
        return entry[1] if entry[0] == identity else None

    def remember(self, name: str, identity: FileIdentity, version: int) -> None:
        """Record that the good job file of ``name`` with ``identity`` holds ``version``."""
        if not self.enabled:
            return
        entries = self._entries
        if len(entries) >= CACHE_ENTRIES:
            # Start again rather than evict one: clear() is one atomic step under the GIL, while
            # finding the oldest entry would iterate a dict other threads may be changing.
            entries.clear()
        entries[name] = (identity, version)

    def forget(self, name: str) -> None:
        """Drop ``name``'s entry (its job file is gone or about to change in an unusual way)."""
        self._entries.pop(name, None)


def has_fine_timestamps(folder: str) -> bool:
    """Does a change right after an ``fstat`` always change the file's modification time here?

    Makes a scratch file in ``folder`` (the store's lock folder: never a job, never scanned),
    reads its time, changes its length, and compares, a few times over. The change is an
    ``ftruncate``, not a ``write``: the harness counts a process's ``write`` and ``fsync`` calls
    to kill it or fail it at an exact one, and a probe must not shift that count. Writes and
    truncates take their new times the same way (``inode_set_ctime_current``). False on any
    error (a read-only store has no saves to speed up).
    """
    # Unique even between processes of different pid namespaces sharing the store.
    path = f"{folder}/.timestamp-probe.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:
        return False
    try:
        before = os.fstat(fd).st_mtime_ns
        for length in range(1, _PROBE_CHANGES + 1):
            os.ftruncate(fd, length)
            after = os.fstat(fd).st_mtime_ns
            if after == before:
                return False
            before = after
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
