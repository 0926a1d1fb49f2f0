"""A run made under ``sudo`` hands its files back to the user who ran sudo.

Some scenarios need root (a full disk is a tmpfs mount; strace may need it too), so CI jobs run
``sudo jobharness verify`` and then, as the normal user, ``jobharness bench`` and ``gate`` into
the same ``reports/`` folder. Files root made there would stop those steps with a permission
error. So, as ``sudo`` tells a command who called it (``SUDO_UID``, ``SUDO_GID``), a run under
sudo gives that user the files it wrote and root owns: the run folder, any folder it had to
create above it, and the trend log. Nothing changes for a run that is not under sudo.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from harness.errors import ConfigError


def sudo_user() -> tuple[int, int] | None:
    """The uid and gid of the user who ran sudo, when this process is root under sudo."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if os.geteuid() != 0 or not uid.isdigit() or not gid.isdigit() or int(uid) == 0:
        return None
    return int(uid), int(gid)


def missing_ancestors(path: Path) -> list[Path]:
    """``path`` and the folders above it that do not exist yet (a run is about to make them)."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing.append(folder)
    return missing


def writable_folder(folder: Path, option: str) -> None:
    """Check that a run can write into ``folder``, or say in one line why not (exit 2).

    Folders made for the check are removed again: a run that stops early leaves none behind.
    """
    made = missing_ancestors(folder.absolute())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".jobharness-probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
        for path in made:  # deepest first
            path.rmdir()
    except OSError as error:
        raise ConfigError(
            f"{option} {folder}: cannot write there ({error.strerror or error}); give a folder "
            "you can write, or run as its owner (a folder made under sudo belongs to root)"
        ) from None


def hand_back(paths: Iterable[Path]) -> None:
    """Under sudo, give each of ``paths`` (folders: with everything in them) that root owns to
    the sudo user. A file that cannot be changed is left as it is: ownership is a courtesy."""
    user = sudo_user()
    if user is None:
        return
    for path in paths:
        for item in _tree(Path(path)):
            with contextlib.suppress(OSError):
                if item.lstat().st_uid == 0:
                    os.chown(item, *user, follow_symlinks=False)


def _tree(path: Path) -> Iterable[Path]:
    if not path.exists() and not path.is_symlink():
        return
    yield path
    if path.is_dir() and not path.is_symlink():
        for folder, folders, files in os.walk(path):
            for name in (*folders, *files):
                yield Path(folder) / name
