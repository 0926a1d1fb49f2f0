"""A real, small tmpfs for the tests that need a disk to fill up or to remount read-only.

Mounting needs root; without it (or where mounting is refused) the test is skipped, with the
reason. Use it from a fixture, so the mount is undone however the test ends::

    @pytest.fixture
    def small_disk(tmp_path):
        yield from mounted_tmpfs(tmp_path / "disk", "16m")
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def mounted_tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (``64k``, ``4m``) at ``mount_point``, yield it, unmount it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield mount_point
    finally:
        # Lazy: a server the test started may still hold a file open there for a moment.
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
