"""Crash states: every on-disk state a power cut may leave behind one traced operation.

A process kill leaves the page cache alone: whatever the process wrote, the kernel will still
write. A power cut does not: only what was made durable survives, and the rest may survive in
part. This module (with the ones it builds on) turns an ``strace`` log of one store operation
into the list of directory trees a power cut could leave, following ALICE (Pillai et al., "All
File Systems Are Not Created Equal", OSDI 2014) and CrashMonkey (Mohan et al., OSDI 2018): record
the system calls, replay them into an abstract file system, and enumerate what a *conservative*
persistence model allows at every crash point.

The persistence model (what may be on disk after the power comes back):

1. **File data is durable up to its last fsync.** ``fsync``/``fdatasync`` of a file makes every
   write and truncate of that file issued before it durable. Unsynced data operations after it
   may be lost, or any *prefix* of them may survive, in order; the last surviving write may be
   **torn** (only the first half of its bytes) or, when it grew the file, **zero-filled** (the
   new size reached the disk, the data did not: ext4 ``data=writeback``, XFS). A file created and
   never fsynced may be empty. Files of different inodes are independent.
   **Unsynced data may also reach the disk out of order, a 4 KiB page at a time** (the page
   cache writes dirty pages back in any order): each touched page alone, and every touched page
   but one, with the file at its final size (``page_samples`` of them per file and point, a seeded
   sample above). A write through an ``O_SYNC``/``O_DSYNC`` descriptor, or a ``pwritev2`` with
   ``RWF_SYNC``/``RWF_DSYNC``, is a barrier of its file when it returns.
2. **Directory entries are durable up to the last fsync of their directory.** Creates, renames,
   unlinks, links, ``mkdir`` and ``rmdir`` in one directory reach the disk as a *prefix* of the
   order they were issued in; every one issued before an fsync of that directory survives.
   **fsync of a file does not make its name durable** (POSIX does not promise it; ext4 happens
   to, other file systems do not). A rename across directories counts as a link in the target
   directory and an unlink in the source one, each persisting on its own.
3. ``sync()`` and ``syncfs()`` make everything durable. ``fsync``/``fdatasync`` of a directory
   descriptor (SQLite uses the latter) is the directory barrier of rule 2. ``sync_file_range``
   makes nothing durable (it flushes neither metadata nor the disk's cache).
4. **The crash may come after any system call** of the operation, including after the last one.
   From the moment the operation returned (``OperationTrace.acknowledged_after``: the calls made
   before it) the states are *acknowledged*, and the store promised the new version would
   survive them; calls other threads make after that moment are after the acknowledgement.

The states at one crash point are every combination of (for each directory) how many of its
unsynced changes persisted and (for each file) which of its data variants persisted. A call that
changes nothing (a read-only ``open``, a ``close``) adds no crash point: the states after it are
the states before it. Identical directory trees are checked once; a tree possible both before
and after the operation returned is checked as acknowledged (the stricter promise). Above a cap,
a seeded sample is kept, always with each point's two extremes (nothing unsynced persisted,
everything persisted). What the model does not do: reorder writes *within* a page, tear a write
anywhere but in the middle, or lose data that was synced (a lying disk cache).

Files the operation did not touch keep the contents they had when it started; the explorer
makes that baseline durable first (``sync``). SQLite's ``-shm`` file is left out everywhere: it
is shared memory (``mmap``) that SQLite rebuilds from the WAL when it is missing, never a source
of truth, and writes through ``mmap`` are invisible to strace anyway.

A tiny example: the incident's save, traced (paths relative to the store directory)::

    #1 open(j0.json.tmp, O_WRONLY|O_CREAT|O_TRUNC)    creates the name j0.json.tmp
    #2 write(j0.json.tmp, 60 B at 0)
    #3 fsync(j0.json.tmp)                             the 60 bytes are durable, the name is not
    #4 close(j0.json.tmp)
    #5 rename(j0.json.tmp -> j0.json)                 the save returns after this

After #5 (acknowledged) the directory may hold both changes (the new ``j0.json``), only the
create, or neither: the last two leave the old ``j0.json`` in place, and the acknowledged write
is lost. With an fsync of the directory
after the rename, the only state left after it is the new ``j0.json``.

:func:`~harness.nemesis.powerloss.strace_log.parse_strace` reads ``strace -f -y -xx`` output,
:func:`~harness.nemesis.powerloss.replay.model_trace` replays one operation into an
:class:`~harness.nemesis.powerloss.operation_trace.OperationTrace`, and
:func:`enumerate_crash_states` (here) lists the :class:`CrashState` values, deduplicated and
capped by seeded sampling; what one file's unsynced data may become (rule 1: prefixes, torn and
zero-filled writes, pages out of order) is :mod:`~harness.nemesis.powerloss.data_variants`.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from harness.nemesis.powerloss.data_variants import (
    PAGE_SAMPLES,
    DataVariant,
    data_variants,
    describe_variant,
    page_variants,
    variant_content,
)
from harness.nemesis.powerloss.operation_trace import (
    DataOp,
    DirOp,
    Event,
    OperationTrace,
    display_name,
    has_ancestors_in,
    visible_files,
)


@dataclass(frozen=True)
class CrashState:
    """One directory tree a power cut may leave: what the store will find when it restarts."""

    point: int  # how many store calls had completed (0: none)
    point_label: str  # e.g. "after #7 rename(.j0.json.tmp -> j0.json)"
    acknowledged: bool  # the operation had returned: the new version was promised
    description: str  # which directory changes and which file data reached the disk
    files: Mapping[str, bytes]
    dirs: frozenset[str]
    extreme: bool = False  # nothing unsynced persisted, or everything persisted

    def key(self) -> tuple[object, ...]:
        return (tuple(sorted(self.files.items())), tuple(sorted(self.dirs)))


@dataclass
class Exploration:
    """The crash states of one operation and how they were chosen."""

    states: list[CrashState]
    points: int  # crash points considered
    combinations: int  # (directory prefix x file data) choices counted over every point
    distinct: int  # distinct states before the cap
    sampled_out: int  # distinct states dropped by the cap


@dataclass
class _Dimension:
    """One independent choice at a crash point: a directory's prefix or a file's data."""

    kind: str  # dir | data
    key: str | int  # directory or inode
    ops: list[DirOp] | list[DataOp]
    minimum: int
    options: list[int] | list[DataVariant]


def enumerate_crash_states(
    trace: OperationTrace,
    *,
    returned: bool,
    max_states: int,
    rng: random.Random,
    page_samples: int = PAGE_SAMPLES,
    per_point: bool = False,
) -> Exploration:
    """Every state the model allows after each call of ``trace``, deduplicated and capped.

    When the operation ``returned``, the states at the moment it returned (after the last call
    it made before ``trace.acknowledged_after``) and after every later call (other threads')
    are *acknowledged*. A state that is possible both before and after the acknowledgement is
    kept once, as acknowledged (the stricter check). ``page_samples`` caps the out-of-order
    page variants of each file at each point (0: data persists in order only). Above
    ``max_states`` distinct states, a seeded sample is kept, always including each crash
    point's two extremes (nothing unsynced persisted, everything persisted). With
    ``per_point`` (a sequence of operations, where what a state must hold depends on the point),
    states are deduplicated within each crash point only.
    """
    changing = [index + 1 for index, call in enumerate(trace.calls) if call.events]
    points = [0, *changing]
    boundary = len(trace.calls) if trace.acknowledged_after is None else trace.acknowledged_after
    returned_point = max(point for point in points if point <= boundary)
    combinations = 0
    at_points: list[list[CrashState]] = []
    for point in points:
        acknowledged = returned and point >= returned_point
        states, count = _states_at(trace, point, acknowledged, max_states, rng, page_samples)
        combinations += count
        at_points.append(states)
    acknowledged_keys = {s.key() for states in at_points for s in states if s.acknowledged}
    seen: set[tuple[object, ...]] = set()
    distinct: list[CrashState] = []
    for states in at_points:
        for state in states:
            key = (state.point, *state.key()) if per_point else state.key()
            if key in seen or (not state.acknowledged and key in acknowledged_keys):
                continue
            seen.add(key)
            distinct.append(state)
    kept = _cap(distinct, max_states, rng)
    return Exploration(kept, len(points), combinations, len(distinct), len(distinct) - len(kept))


def _cap(states: list[CrashState], limit: int, rng: random.Random) -> list[CrashState]:
    if len(states) <= limit:
        return states
    extremes = [index for index, state in enumerate(states) if state.extreme]
    others = [index for index, state in enumerate(states) if not state.extreme]
    room = max(limit - len(extremes), 0)
    chosen = set(extremes) | set(rng.sample(others, min(room, len(others))))
    return [state for index, state in enumerate(states) if index in chosen]


def _states_at(
    trace: OperationTrace,
    point: int,
    acknowledged: bool,
    limit: int,
    rng: random.Random,
    page_samples: int,
) -> tuple[list[CrashState], int]:
    events = [event for call in trace.calls[:point] for event in call.events]
    dimensions = _dimensions(trace, events, rng, page_samples)
    sizes = [len(dimension.options) for dimension in dimensions]
    total = math.prod(sizes)
    label = (
        "before #1 (nothing done yet)"
        if point == 0
        else f"after #{point} {trace.calls[point - 1].label}"
    )
    lowest = tuple(0 for _ in sizes)
    highest = tuple(size - 1 for size in sizes)
    extremes = {lowest, highest}
    combos: Iterable[tuple[int, ...]]
    if total <= limit:
        combos = itertools.product(*(range(size) for size in sizes))
    else:  # too many to list: the extremes, then a seeded sample
        drawn = {tuple(rng.randrange(size) for size in sizes) for _ in range(limit)}
        combos = [lowest, highest, *sorted(drawn - extremes)]
    states = []
    cache: dict[tuple[int, int], bytes] = {}
    for combo in combos:
        files, dirs = _materialize(trace, events, dimensions, combo, cache)
        states.append(
            CrashState(
                point,
                label,
                acknowledged,
                _describe(trace, dimensions, combo),
                files,
                dirs,
                extreme=combo in extremes,
            )
        )
    return states, total


def _dimensions(
    trace: OperationTrace, events: list[Event], rng: random.Random, page_samples: int
) -> list[_Dimension]:
    dir_ops: dict[str, list[DirOp]] = {}
    data_ops: dict[int, list[DataOp]] = {}
    dir_synced: dict[str, int] = {}
    data_synced: dict[int, int] = {}
    for event in events:
        if isinstance(event, DirOp):
            dir_ops.setdefault(event.directory, []).append(event)
        elif isinstance(event, DataOp):
            data_ops.setdefault(event.inode, []).append(event)
        elif event.everything:
            dir_synced = {directory: len(ops) for directory, ops in dir_ops.items()}
            data_synced = {inode: len(ops) for inode, ops in data_ops.items()}
        elif event.directory is not None:
            dir_synced[event.directory] = len(dir_ops.get(event.directory, []))
        elif event.inode is not None:
            data_synced[event.inode] = len(data_ops.get(event.inode, []))
    dimensions = []
    for directory, ops in sorted(dir_ops.items()):
        minimum = dir_synced.get(directory, 0)
        dimensions.append(
            _Dimension("dir", directory, ops, minimum, list(range(minimum, len(ops) + 1)))
        )
    for inode, ops in sorted(data_ops.items()):
        minimum = data_synced.get(inode, 0)
        base = trace.base_content.get(inode, b"")
        variants = data_variants(base, ops, minimum)
        variants += page_variants(base, ops, minimum, page_samples, rng)
        dimensions.append(_Dimension("data", inode, ops, minimum, variants))
    return [d for d in dimensions if len(d.options) > 1] + [
        d for d in dimensions if len(d.options) == 1
    ]


def _materialize(
    trace: OperationTrace,
    events: list[Event],
    dimensions: list[_Dimension],
    combo: tuple[int, ...],
    cache: dict[tuple[int, int], bytes],
) -> tuple[dict[str, bytes], frozenset[str]]:
    persisted: set[int] = set()
    content = dict(trace.base_content)
    for dimension, choice in zip(dimensions, combo, strict=True):
        option = dimension.options[choice]
        if dimension.kind == "dir":
            assert isinstance(option, int)
            persisted.update(op.seq for op in dimension.ops[:option])
            continue
        assert isinstance(option, DataVariant) and isinstance(dimension.key, int)
        cache_key = (dimension.key, choice)
        if cache_key not in cache:
            base = trace.base_content.get(dimension.key, b"")
            ops = cast(list[DataOp], dimension.ops)  # a data dimension's
            cache[cache_key] = variant_content(base, ops, dimension.minimum, option)
        content[dimension.key] = cache[cache_key]
    names = dict(trace.base_names)
    dirs = set(trace.base_dirs)
    for event in events:
        if isinstance(event, DirOp) and event.seq in persisted:
            _apply_dir_op(names, dirs, event)
    return visible_files(names, frozenset(dirs), content), frozenset(
        d for d in dirs if has_ancestors_in(d, dirs)
    )


def _apply_dir_op(names: dict[str, int], dirs: set[str], op: DirOp) -> None:
    if op.kind in ("create", "link"):
        names[op.name] = op.inode
    elif op.kind == "rename":
        assert op.target is not None
        if names.get(op.name) == op.inode:
            del names[op.name]
        names[op.target] = op.inode
    elif op.kind == "unlink":
        if names.get(op.name) == op.inode:
            del names[op.name]
    elif op.kind == "mkdir":
        dirs.add(op.name)
    elif op.kind == "rmdir":
        dirs.discard(op.name)


def _describe(trace: OperationTrace, dimensions: list[_Dimension], combo: tuple[int, ...]) -> str:
    """Which unsynced directory changes and file data reached the disk, in a few words.

    ``./: persisted create(a.tmp), lost rename(a.tmp -> a); a.tmp: all unsynced data persisted``
    """
    parts = []
    for dimension, choice in zip(dimensions, combo, strict=True):
        if len(dimension.options) == 1:
            continue
        option = dimension.options[choice]
        if dimension.kind == "dir":
            assert isinstance(option, int)
            kept = _ops_text(dimension.ops[dimension.minimum : option])  # type: ignore[arg-type]
            lost = _ops_text(dimension.ops[option:])  # type: ignore[arg-type]
            said = [f"persisted {kept}" if kept else "", f"lost {lost}" if lost else ""]
            parts.append(f"{display_name(str(dimension.key))}/: {', '.join(filter(None, said))}")
            continue
        assert isinstance(option, DataVariant) and isinstance(dimension.key, int)
        name = trace.labels.get(dimension.key, f"inode {dimension.key}")
        ops = cast(list[DataOp], dimension.ops)  # a data dimension's
        parts.append(describe_variant(name, ops, dimension.minimum, option))
    return "; ".join(parts) or "only durable data (nothing unsynced to lose)"


def _ops_text(ops: list[DirOp], limit: int = 3) -> str:
    text = ", ".join(op.describe() for op in ops[:limit])
    return text + (f" and {len(ops) - limit} more" if len(ops) > limit else "")
