"""A real full filesystem: the store's root on a small tmpfs that the nemesis fills and frees.

Injected ``ENOSPC`` (see :mod:`harness.nemesis.syscalls`) hits one chosen call; a full disk hits
every call that needs space, in every process, at once, including the ones the store did not
expect to fail (creating a temp file, copying a backup). The nemesis fills the free space with a
filler file, lets the store run into the wall, then deletes the filler.

Mounting needs root (CAP_SYS_ADMIN); elsewhere the scenario cannot run here (*unknown*).

The fault (:class:`FullDisk`)::

    [[faults]]
    kind = "fullfs"
    size_kb = 8192   # the size of the tmpfs the store lives on
    times = 2        # how many times the nemesis fills it (for half of each share of the phase)

The small filesystem can be full at any moment, filled by the nemesis or by the store's own files
(a growing SQLite WAL), so the whole main phase is a window with effect ``calls_fail`` (ENOSPC) on
every process (``diskfull``), and each filling a shorter one inside it (``fill-disk`` to
``free-disk``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.history.fault_windows import CALLS_FAIL, new_window_id, window_closed, window_opened
from harness.history.log import OK
from harness.nemesis.fault import Fault, FaultRun, ScenarioFacts, TimedAction, check_target
from harness.scenario.toml_table import TableReader

FILLER_NAME = ".jobharness-filler"
SMALL_DISK_WINDOW = "diskfull"  # one store folder a run, so one small filesystem: one window id


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


@dataclass(frozen=True)
class FullDisk(Fault):
    """The store on a ``size_kb`` tmpfs that the nemesis fills ``times`` times and frees."""

    kind = "fullfs"
    size_kb: int = 256
    times: int = 1
    target: str = "writer"  # accepted for older scenario files; a full disk hits every process

    @classmethod
    def from_table(cls, table: TableReader) -> FullDisk:
        return cls(
            size_kb=table.integer("size_kb", default=256, minimum=16, maximum=1 << 20),
            times=table.integer("times", default=1, minimum=1, maximum=10_000),
            target=table.string("target", default="writer"),
        )

    def check_scenario(self, facts: ScenarioFacts, key: str) -> None:
        check_target(self.target, facts, key, must_run=False)

    def unavailable_reason(self) -> str | None:
        reason = can_mount()
        return f"needs a real small filesystem: {reason}" if reason else None

    def prepare(self, run: FaultRun) -> None:
        if not os.path.ismount(run.root):
            mount_tmpfs(run.root, self.size_kb)

    def start(self, run: FaultRun) -> None:
        assert run.nemesis is not None
        label = f"small disk ({self.size_kb} KiB tmpfs)"
        opened = window_opened(SMALL_DISK_WINDOW, CALLS_FAIL, errno="ENOSPC", label=label)
        run.nemesis.invoke("diskfull", None, {"size_kb": self.size_kb, **opened})
        run.nemesis.complete(("diskfull", None), OK, {"size_kb": self.size_kb})

    def schedule(self, run: FaultRun, duration: float, rng: random.Random) -> list[TimedAction]:
        actions = []
        share = duration / self.times
        for number in range(self.times):
            fill_at = number * share + 0.2 * share
            window = new_window_id("fill-disk")
            actions.append(TimedAction(fill_at, functools.partial(_fill, run, window)))
            free = functools.partial(_free, run, window)
            actions.append(TimedAction(fill_at + 0.5 * share, free, always=True))
        return actions

    def release(self, run: FaultRun) -> None:
        assert run.nemesis is not None
        free(run.root)
        run.nemesis.event("diskfull-end", None, window_closed(SMALL_DISK_WINDOW), kind=OK)

    def cleanup(self, run: FaultRun) -> None:
        if os.path.ismount(run.root):
            unmount(run.root)


def _fill(run: FaultRun, window: str) -> None:
    assert run.nemesis is not None
    opened = window_opened(window, CALLS_FAIL, errno="ENOSPC", label="disk full")
    token = run.nemesis.invoke("fill-disk", None, opened)
    taken = fill(run.root)
    run.nemesis.complete(token, OK, {"taken": taken})
    if taken == 0:
        run.note("the nemesis found the small filesystem already full (the store filled it)")


def _free(run: FaultRun, window: str) -> None:
    assert run.nemesis is not None
    free(run.root)
    run.nemesis.event("free-disk", None, window_closed(window), kind=OK)
