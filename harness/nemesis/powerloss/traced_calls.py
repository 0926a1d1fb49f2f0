"""From one traced store call to its model: cut it out of the trace, replay it, check the replay.

Every single call the explorer traces (a save, an update, a ``recover()`` of the second cut) is
turned into an :class:`~harness.nemesis.powerloss.operation_trace.OperationTrace` the same way::

    trace, listing = model_traced_call(calls, work, "save", root, open_files, "save")

1. its window of system calls is cut out between its markers
   (:func:`~harness.nemesis.powerloss.markers.operation_window`);
2. it is replayed over the snapshot taken before it, with the descriptors that were open;
3. the replay must end with exactly the files of the snapshot taken after it
   (:func:`verify_replay`): a difference means the store changed files in a way the model does
   not follow, and judging crash states built from it would be a guess (:class:`PowerLossError`);
4. the numbered calls are written to ``<work>/<name>.calls.txt`` (the crash points cite them).
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import HarnessError
from harness.nemesis.powerloss.markers import operation_window
from harness.nemesis.powerloss.operation_trace import Baseline, OpenFile, OperationTrace
from harness.nemesis.powerloss.replay import model_trace
from harness.nemesis.powerloss.snapshots import load_snapshot
from harness.nemesis.powerloss.strace_log import RawCall


class PowerLossError(HarnessError):
    """The exploration itself failed (not the store); the message says why and what to do."""


def store_spellings(root: Path) -> set[str]:
    """The absolute spellings of the store directory a trace may show: as given, and resolved."""
    return {os.fspath(root), os.path.realpath(root)}


def model_traced_call(
    calls: list[RawCall],
    work: Path,
    name: str,
    root: Path,
    open_files: dict[int, OpenFile],
    what: str,
) -> tuple[OperationTrace, Path]:
    """Model the traced call ``name`` (see the module docstring); return it and its listing.

    ``what`` names the call in the error of a replay that does not match (``save``,
    ``recover``). Raises :class:`~harness.nemesis.powerloss.strace_log.TraceModelError` for a
    call the model cannot follow, :class:`~harness.nemesis.powerloss.processes.TraceError` for
    a missing marker and :class:`PowerLossError` for a replay that does not match the disk.
    """
    window, returned_at = operation_window(calls, work, name)
    baseline = load_snapshot(work / f"{name}-before")
    baseline.open_files = open_files
    trace = model_trace(
        window, store_spellings(root), baseline, cwd=os.getcwd(), returned_at=returned_at
    )
    verify_replay(trace, load_snapshot(work / f"{name}-after"), what)
    listing = work / f"{name}.calls.txt"
    listing.write_text(trace.listing(), encoding="utf-8")
    return trace, listing


def verify_replay(trace: OperationTrace, after: Baseline, name: str) -> None:
    """The replay must end where the disk did, or the model missed a write: say which file."""
    modeled = trace.final_files()
    problems = []
    for path in sorted(set(modeled) | set(after.files)):
        if path not in after.files:
            problems.append(f"{path}: modeled but not on disk")
        elif path not in modeled:
            problems.append(f"{path}: on disk but not modeled")
        elif modeled[path] != after.files[path]:
            problems.append(
                f"{path}: modeled {len(modeled[path])} B differ from "
                f"the {len(after.files[path])} B on disk"
            )
    if problems:
        raise PowerLossError(
            f"power loss, {name}_job: replaying the trace does not give the files the store left "
            f"({'; '.join(problems[:3])}): the store changed files in a way the model does not "
            "follow (writes through mmap, another process, an untraced system call), so the "
            "exploration would not be sound"
        )
