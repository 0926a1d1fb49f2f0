"""A real full filesystem: the store's root on a small tmpfs that the nemesis fills and frees.

Injected ``ENOSPC`` (see :mod:`harness.nemesis.syscalls`) hits one chosen call; a full disk hits
every call that needs space, in every process, at once, including the ones the store did not
expect to fail (creating a temp file, copying a backup). The nemesis fills the free space with a
filler file, lets the store run into the wall, then deletes the filler.

Mounting needs root (CAP_SYS_ADMIN); elsewhere the scenario is reported as not applicable.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

FILLER_NAME = ".jobharness-filler"


def can_mount() -> str | None:
    """None when this process can mount a tmpfs, else the reason it cannot."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root (run as root, or skip the full-disk scenario)"
    return None


def mount_tmpfs(path: Path, size_kb: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", os.fspath(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise OSError(f"mount -t tmpfs failed: {result.stderr.strip() or result.returncode}")


def unmount(path: Path) -> None:
    """Unmount; lazily if something still holds it (a process the runner is killing)."""
    result = subprocess.run(["umount", os.fspath(path)], capture_output=True, check=False)
    if result.returncode != 0:
        subprocess.run(["umount", "-l", os.fspath(path)], capture_output=True, check=False)


def fill(path: Path) -> int:
    """Take all the free space of the filesystem at ``path``; return the bytes taken."""
    filler = path / FILLER_NAME
    stats = os.statvfs(path)
    free = stats.f_bavail * stats.f_frsize
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    taken = 0
    try:
        chunk = b"\0" * 65536
        while True:
            try:
                taken += os.write(fd, chunk if free - taken > 65536 else chunk[:4096])
            except OSError:
                break  # ENOSPC: full
    finally:
        os.close(fd)
    return taken


def free(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path / FILLER_NAME)
