"""Snapshots of the store directory around a traced call, and the descriptors open under it.

The replay needs to know what the store directory held when the call began (its baseline) and
must end with what it held when the call returned, or the model missed a write. The traced child
copies the directory before and after each call (:func:`take_snapshot`) and lists the
descriptors it holds under the store with their positions (:func:`open_descriptors`, from
``/proc``), since a write through one of them lands at its position; the explorer reads a
snapshot back as a :class:`~harness.nemesis.powerloss.operation_trace.Baseline`
(:func:`load_snapshot`). SQLite's ``-shm`` file is left out: it is shared memory, not state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.nemesis.powerloss.operation_trace import Baseline, OpenFile, is_ephemeral


def take_snapshot(root: Path, destination: Path) -> None:
    """Copy every durable file under ``root`` (and its directories) into ``destination``."""
    for current, _, filenames in os.walk(root):
        rel = os.path.relpath(current, root)
        (destination / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if not is_ephemeral(name):
                (destination / rel / name).write_bytes((Path(current) / name).read_bytes())


def load_snapshot(folder: Path) -> Baseline:
    """Files and directories of a snapshot, relative to it."""
    files: dict[str, bytes] = {}
    dirs = {""}
    for current, dirnames, filenames in os.walk(folder):
        rel = os.path.relpath(current, folder)
        rel = "" if rel == "." else rel
        dirs.update(os.path.join(rel, name) if rel else name for name in dirnames)
        for name in filenames:
            files[os.path.join(rel, name) if rel else name] = (Path(current) / name).read_bytes()
    return Baseline(files, dirs)


def open_descriptors(root: Path, pid: int | str = "self") -> dict[str, dict[str, Any]]:
    """Descriptors process ``pid`` (this one) holds under ``root``, with their positions."""
    real = os.path.realpath(root)
    found: dict[str, dict[str, Any]] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue  # the descriptor of the listing itself, closed by now
        if target != real and not target.startswith(real + "/"):
            continue
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        position = int(fields.get("pos", "0").strip())
        append = bool(int(fields.get("flags", "0").strip(), 8) & os.O_APPEND)
        found[fd] = {
            "path": os.path.relpath(target, real) if target != real else "",
            "position": position,
            "append": append,
        }
    return found


def parse_open_descriptors(listed: dict[str, dict[str, Any]]) -> dict[int, OpenFile]:
    """:func:`open_descriptors` as the child reported it (JSON), back as ``OpenFile`` records."""
    return {int(fd): OpenFile(**info) for fd, info in listed.items()}
