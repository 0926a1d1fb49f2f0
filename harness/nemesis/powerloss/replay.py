"""Replaying one traced operation into an abstract file system of names, inodes and contents.

:func:`model_trace` follows the system calls of one store operation (as
:mod:`~harness.nemesis.powerloss.strace_log` parsed them) through the store's names, inodes,
contents and open descriptors, starting from the ``Baseline`` the operation found. Each call
that touched the store becomes a numbered ``StoreCall`` carrying the changes it made: directory
changes (``DirOp``), data changes (``DataOp``) and durability barriers (``SyncOp``), all records
of :mod:`~harness.nemesis.powerloss.operation_trace`. The resulting ``OperationTrace`` lists
them, one a line; the crash points refer to the numbers::

    #1 open(j0.json.tmp, O_WRONLY|O_CREAT|O_TRUNC)
    #2 write(j0.json.tmp, 60 B at 0)
    #3 fsync(j0.json.tmp)
    #4 close(j0.json.tmp)   (no change to the disk)
    #5 rename(j0.json.tmp -> j0.json)

The replay has three parts: this driver (which calls count, where the operation returned), the
state of the abstract file system (:mod:`~harness.nemesis.powerloss.replayer`) and what each
system call does to it (:mod:`~harness.nemesis.powerloss.syscall_handlers`). Which of the changes
a power cut may lose is the persistence model, documented and enumerated in
:mod:`~harness.nemesis.powerloss.crash_states`.

A call the model cannot follow faithfully (``O_TMPFILE``, a shared writable ``mmap`` of a store
file, ``renameat2(RENAME_EXCHANGE)``, ``symlink``, a rename into or out of the store, a
descriptor it was not told about) raises
:class:`~harness.nemesis.powerloss.strace_log.TraceModelError` naming the call rather than
guess; the explorer turns that into an *unknown* verdict. A write through an
``O_SYNC``/``O_DSYNC`` descriptor is followed by a ``SyncOp`` of its file: it is durable when it
returns.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.nemesis.powerloss.operation_trace import Baseline, OperationTrace, StoreCall
from harness.nemesis.powerloss.replayer import Replayer
from harness.nemesis.powerloss.strace_log import RawCall
from harness.nemesis.powerloss.syscall_handlers import HANDLERS

# Calls that only move a descriptor's bookkeeping: followed, but not numbered as store calls.
_BOOKKEEPING = frozenset({"lseek", "fcntl", "dup", "dup2", "dup3"})


def model_trace(
    calls: Iterable[RawCall],
    roots: Iterable[str],
    baseline: Baseline,
    cwd: str | None = None,
    *,
    returned_at: int | None = None,
    returns_at: Iterable[int] = (),
) -> OperationTrace:
    """Replay ``calls`` (one operation's window of the trace) over ``baseline``.

    ``roots`` are the absolute spellings of the store directory (as given, and resolved).
    Calls outside the store are ignored; calls the model cannot follow raise
    :class:`TraceModelError` naming the call. ``returned_at`` is how many of ``calls`` were made
    before the store call returned (the rest are other threads' calls after it); None: all.
    ``returns_at`` does the same for each operation of a sequence (``OperationTrace.returns``).
    """
    replay = Replayer(roots, baseline, cwd)
    marks = sorted(returns_at)
    returns: list[int] = []
    base_names = dict(replay.names)
    base_content = {inode: bytes(data) for inode, data in replay.content.items()}
    base_dirs = frozenset(replay.dirs)
    store_calls: list[StoreCall] = []
    acknowledged_after: int | None = None
    for index, call in enumerate(calls):
        if index == returned_at:
            acknowledged_after = len(store_calls)
        while marks and marks[0] <= index:
            returns.append(len(store_calls))
            marks.pop(0)
        before = len(replay.events)
        label = _replay_call(replay, call)
        if label is None or call.name in _BOOKKEEPING:
            continue
        if call.failed:
            label += f" = {call.error or call.result}"
        events = tuple(replay.events[before:])
        store_calls.append(StoreCall(len(store_calls) + 1, label, events, call.line))
    return OperationTrace(
        calls=store_calls,
        base_names=base_names,
        base_dirs=base_dirs,
        base_content=base_content,
        final_names=dict(replay.names),
        final_dirs=frozenset(replay.dirs),
        final_content={inode: bytes(data) for inode, data in replay.content.items()},
        labels=dict(replay.labels),
        acknowledged_after=len(store_calls) if acknowledged_after is None else acknowledged_after,
        returns=tuple(returns + [len(store_calls)] * len(marks)),
    )


def _replay_call(replay: Replayer, call: RawCall) -> str | None:
    """Apply one call; return its label if it touched the store, else None."""
    handler = HANDLERS.get(call.name)
    if handler is None:
        return None
    return handler(replay, call)
