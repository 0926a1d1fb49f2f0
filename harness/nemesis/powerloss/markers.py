"""Markers: where in the whole trace one store call begins, returns, and stops mattering.

The traced child (:mod:`harness.nemesis.powerloss.children`) makes each store call between
*markers*: an ``open`` of a path that does not exist, which the trace shows as a failed
``openat`` and which touches nothing::

    sync(); snapshot -> <name>-before      the durable baseline, as files
    open(.marker-begin-<name>)             the call starts
    store.save_job(...)                    any thread's calls: before the acknowledgement
    open(.marker-end-<name>)               made by the calling thread as soon as it returned
    snapshot -> <name>-after               what the replay must end with
    open(.marker-settled-<name>)           other threads' calls up to here: after it

Both sides name the markers with :func:`marker_path`; the explorer cuts one call's system calls
out of the trace with :func:`operation_window` (one call) or :func:`sequence_window` (several
calls with no sync between them).

>>> marker_path(Path("/w"), "end", "save").name
'.marker-end-save'
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from harness.nemesis.powerloss.processes import TraceError
from harness.nemesis.powerloss.strace_log import RawCall, TraceModelError, decode_string


def marker_path(work: Path, which: str, name: str) -> Path:
    """The marker ``which`` (begin, end, settled) of operation ``name``, in ``work``."""
    return work / f".marker-{which}-{name}"


def make_marker(path: Path) -> None:
    """A call the trace can be cut at: open a path that does not exist."""
    with contextlib.suppress(FileNotFoundError):
        os.close(os.open(path, os.O_RDONLY))


def operation_window(calls: list[RawCall], work: Path, name: str) -> tuple[list[RawCall], int]:
    """One operation's calls, and how many of them came before it returned.

    The operation is every call between its *begin* marker and its *end* marker (any thread),
    then the calls other threads made after the end marker until the *settled* marker (the
    calling thread's own calls there are the harness's snapshot, not the store's). The end
    marker is made by the calling thread right after the store call returned: it is the
    acknowledgement, and a background thread's fsync after it comes too late.
    """
    marks = {
        os.fspath(marker_path(work, which, name)): which for which in ("begin", "end", "settled")
    }
    found = _find_markers(calls, marks)
    for which in ("begin", "end", "settled"):
        if which not in found:
            raise TraceError(
                f"the trace has no {which} marker for {name}_job: "
                "strace did not follow the process (is ptrace allowed here?)"
            )
    begin, end, settled = found["begin"], found["end"], found["settled"]
    before = calls[begin + 1 : end]
    caller = calls[end].pid
    after = [call for call in calls[end + 1 : settled] if call.pid != caller]
    return before + after, len(before)


def sequence_window(
    calls: list[RawCall], work: Path, name: str, count: int
) -> tuple[list[RawCall], list[int]]:
    """The calls of a sequence of ``count`` operations, and where in them each one returned.

    As :func:`operation_window`, from the first operation's *begin* marker to the last one's
    *end* marker (then other threads' calls up to *settled*); the markers between operations stay
    in the list (they are outside the store: the replay skips them) so that the index of each
    *end* marker is where its operation returned.
    """
    wanted = {os.fspath(marker_path(work, "begin", f"{name}-0")): "begin"}
    for number in range(count):
        wanted[os.fspath(marker_path(work, "end", f"{name}-{number}"))] = f"end-{number}"
    wanted[os.fspath(marker_path(work, "settled", name))] = "settled"
    found = _find_markers(calls, wanted)
    for which in ("begin", *(f"end-{number}" for number in range(count)), "settled"):
        if which not in found:
            raise TraceError(
                f"the trace has no {which} marker for {name}: strace did not follow the process"
            )
    begin, last, settled = found["begin"], found[f"end-{count - 1}"], found["settled"]
    before = calls[begin + 1 : last]
    ends = [found[f"end-{number}"] - begin - 1 for number in range(count)]
    caller = calls[last].pid
    after = [call for call in calls[last + 1 : settled] if call.pid != caller]
    return before + after, ends


def _find_markers(calls: list[RawCall], wanted: dict[str, str]) -> dict[str, int]:
    """Index of the first failed ``open`` of each marker path (by its role in ``wanted``)."""
    found: dict[str, int] = {}
    for index, call in enumerate(calls):
        if call.name in ("openat", "open") and call.failed:
            path_token = call.args[1] if call.name == "openat" else call.args[0]
            try:
                path = os.fsdecode(decode_string(path_token))
            except TraceModelError:
                continue
            if path in wanted:
                found.setdefault(wanted[path], index)
    return found
