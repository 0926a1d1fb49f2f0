"""Replaying one traced operation into an abstract file system of names, inodes and contents.

:func:`model_trace` follows the system calls of one store operation (as
:mod:`harness.nemesis.powerloss.strace_log` parsed them) through the store's names, inodes, contents and
open descriptors, starting from the :class:`Baseline` the operation found. Each call that touched
the store becomes a numbered :class:`StoreCall` carrying the changes it made: directory changes
(:class:`DirOp`), data changes (:class:`DataOp`) and durability barriers (:class:`SyncOp`). The
resulting :class:`OperationTrace` lists them, one a line; the crash points refer to the numbers::

    #1 open(j0.json.tmp, O_WRONLY|O_CREAT|O_TRUNC)
    #2 write(j0.json.tmp, 60 B at 0)
    #3 fsync(j0.json.tmp)
    #4 close(j0.json.tmp)   (no change to the disk)
    #5 rename(j0.json.tmp -> j0.json)

Which of those changes a power cut may lose is the persistence model, documented and enumerated
in :mod:`harness.nemesis.powerloss.crash_states`. A call the model cannot follow faithfully (``O_TMPFILE``,
a shared writable ``mmap`` of a store file, ``renameat2(RENAME_EXCHANGE)``, ``symlink``, a rename
into or out of the store, a descriptor it was not told about) raises
:class:`~harness.nemesis.powerloss.strace_log.TraceModelError` naming the call rather than guess; the
explorer turns that into an *unknown* verdict. A write through an ``O_SYNC``/``O_DSYNC``
descriptor is followed by a :class:`SyncOp` of its file: it is durable when it returns.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from harness.nemesis.powerloss.strace_log import (
    RawCall,
    TraceModelError,
    decode_fd,
    decode_flags,
    decode_iovec,
    decode_offset,
    decode_string,
)

EPHEMERAL_SUFFIXES = ("-shm",)
"""Names of shared-memory files that are not durable state (SQLite's WAL index)."""

# Calls that only move a descriptor's bookkeeping: followed, but not numbered as store calls.
_BOOKKEEPING = frozenset({"lseek", "fcntl", "dup", "dup2", "dup3"})
_SHOWN_FLAGS = (
    "O_RDONLY",
    "O_WRONLY",
    "O_RDWR",
    "O_CREAT",
    "O_EXCL",
    "O_TRUNC",
    "O_APPEND",
    "O_SYNC",
    "O_DSYNC",
)


@dataclass(frozen=True, slots=True)
class DirOp:
    """A change to one directory: create, rename, link, unlink, mkdir or rmdir of ``name``."""

    seq: int
    kind: str
    directory: str
    name: str
    inode: int
    target: str | None = None  # rename: the new name

    def describe(self) -> str:
        if self.kind == "rename":
            return f"rename({self.name} -> {self.target})"
        return f"{self.kind}({self.name})"


@dataclass(frozen=True, slots=True)
class DataOp:
    """A change to one file's bytes: a write at ``offset`` or a truncate to ``offset``."""

    seq: int
    kind: str  # write | truncate
    inode: int
    offset: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class SyncOp:
    """A durability barrier: one file (``inode``), one directory, or everything.

    A write through a descriptor opened ``O_SYNC``/``O_DSYNC`` (or a ``pwritev2`` with
    ``RWF_SYNC``/``RWF_DSYNC``) is followed by a barrier of its file: it is durable when the call
    returns.
    """

    seq: int
    inode: int | None = None
    directory: str | None = None
    everything: bool = False


Event = DirOp | DataOp | SyncOp


@dataclass(frozen=True, slots=True)
class StoreCall:
    """One system call that touched the store, numbered in the order it was made."""

    number: int
    label: str  # e.g. "rename(.j0.json.tmp -> j0.json)"
    events: tuple[Event, ...]
    line: str


@dataclass(frozen=True)
class OpenFile:
    """A descriptor the process already held under the store when the operation began."""

    path: str  # relative to the store directory
    position: int = 0
    append: bool = False


@dataclass
class Baseline:
    """The durable store directory when the operation began, relative paths throughout."""

    files: dict[str, bytes]
    dirs: set[str] = field(default_factory=lambda: {""})  # "" is the store directory itself
    open_files: dict[int, OpenFile] = field(default_factory=dict)


@dataclass
class OperationTrace:
    """A traced operation replayed into the abstract file system."""

    calls: list[StoreCall]
    base_names: dict[str, int]
    base_dirs: frozenset[str]
    base_content: dict[int, bytes]
    final_names: dict[str, int]
    final_dirs: frozenset[str]
    final_content: dict[int, bytes]
    labels: dict[int, str]  # inode -> the first name it had, for descriptions
    acknowledged_after: int | None = None  # store calls made before the operation returned
    returns: tuple[int, ...] = ()  # for several operations: the store calls before each returned

    @property
    def changing_calls(self) -> list[StoreCall]:
        return [call for call in self.calls if call.events]

    def final_files(self) -> dict[str, bytes]:
        """What the page cache held when the operation ended (every write persisted)."""
        return visible_files(self.final_names, self.final_dirs, self.final_content)

    def listing(self) -> str:
        """The numbered store calls, one a line (the crash points refer to these numbers)."""
        lines = []
        for call in self.calls:
            if call.number - 1 == self.acknowledged_after:
                lines.append("-- the store call returned here; what follows is other threads'\n")
            unchanged = "" if call.events else "   (no change to the disk)"
            lines.append(f"#{call.number} {call.label}{unchanged}\n")
        return "".join(lines)


@dataclass
class _Description:
    """An open file description: shared by dup'ed descriptors, like the kernel's."""

    kind: str  # file | dir | foreign
    path: str = ""
    inode: int = -1
    position: int = 0
    append: bool = False
    synchronous: bool = False  # O_SYNC / O_DSYNC: every write is durable when it returns


class _Replayer:
    """Replays system calls into names, inodes and contents, emitting :data:`Event` values."""

    def __init__(self, roots: Iterable[str], baseline: Baseline, cwd: str | None) -> None:
        self.roots = sorted({posixpath.normpath(root) for root in roots}, key=len, reverse=True)
        self.cwd = cwd
        self.names: dict[str, int] = {}
        self.content: dict[int, bytearray] = {}
        self.dirs = set(baseline.dirs) | {""}
        self.labels: dict[int, str] = {}
        for path in sorted(baseline.files):
            inode = self._new_inode(path)
            self.names[path] = inode
            self.content[inode] = bytearray(baseline.files[path])
        self.fds: dict[int, _Description] = {}
        for fd, opened in baseline.open_files.items():
            if opened.path in self.dirs:
                self.fds[fd] = _Description("dir", opened.path)
            elif opened.path in self.names:
                inode = self.names[opened.path]
                self.fds[fd] = _Description(
                    "file", opened.path, inode, opened.position, opened.append
                )
        self.seq = 0
        self.events: list[Event] = []

    # ------------------------------------------------------------ paths and descriptors

    def _new_inode(self, path: str) -> int:
        inode = len(self.labels) + 1
        self.labels[inode] = path
        return inode

    def relative(self, path: str | None) -> str | None:
        """The store-relative path, or None for a path outside the store or an ephemeral file."""
        if path is None:
            return None
        path = posixpath.normpath(path)
        for root in self.roots:
            if path == root:
                return ""
            if path.startswith(root + "/"):
                rel = path[len(root) + 1 :]
                return None if is_ephemeral(rel) else rel
        return None

    def resolve(self, dirfd_token: str | None, path_token: str) -> str | None:
        """Absolute path named by (dirfd, path) arguments, or None if it cannot be known."""
        path = os.fsdecode(decode_string(path_token))
        if path.startswith("/"):
            return posixpath.normpath(path)
        base: str | None = self.cwd
        if dirfd_token is not None:
            fd, annotation = decode_fd(dirfd_token)
            if annotation is not None:
                base = annotation
            elif fd is not None:
                description = self.fds.get(fd)
                base = (
                    self._absolute(description.path)
                    if description and description.kind == "dir"
                    else None
                )
        return posixpath.normpath(posixpath.join(base, path)) if base else None

    def _absolute(self, rel: str) -> str:
        root = self.roots[-1]
        return posixpath.join(root, rel) if rel else root

    def descriptor(self, token: str) -> _Description | None:
        """The description behind an fd argument; None when it is outside the store."""
        fd, annotation = decode_fd(token)
        if fd is None:
            return None
        description = self.fds.get(fd)
        if description is not None:
            return None if description.kind == "foreign" else description
        rel = self.relative(annotation)
        if rel is not None:
            raise TraceModelError(
                f"descriptor {fd} ({rel or '.'}) was opened before the traced operation began and "
                "is not in the list of open descriptors given to the model; record it (with its "
                "position) in Baseline.open_files"
            )
        return None

    # ------------------------------------------------------------ events

    def emit(self, event_type: type, **fields: object) -> Event:
        self.seq += 1
        event = event_type(seq=self.seq, **fields)
        self.events.append(event)
        return event

    def dir_op(self, kind: str, name: str, inode: int, target: str | None = None) -> None:
        """A change to the directory holding ``name`` (for a rename, ``target`` is beside it)."""
        self.emit(
            DirOp,
            kind=kind,
            directory=posixpath.dirname(name),
            name=name,
            inode=inode,
            target=target,
        )

    def write(
        self,
        description: _Description,
        offset: int | None,
        data: bytes,
        *,
        synchronous: bool = False,
    ) -> int:
        """A write through ``description``; None offset means its position (or end if append).

        A write through an ``O_SYNC``/``O_DSYNC`` descriptor (or with ``synchronous``, a
        ``pwritev2`` flag) is durable when it returns: a barrier of its file follows it.
        """
        content = self.content[description.inode]
        explicit = offset is not None
        if description.append:
            offset = len(content)  # Linux appends even for pwrite on an O_APPEND descriptor
        elif offset is None:
            offset = description.position
        if data:
            self.emit(DataOp, kind="write", inode=description.inode, offset=offset, data=data)
            apply_write(content, offset, data)
            if description.synchronous or synchronous:
                # Linux flushes the written range and the journal before returning; modeled as a
                # barrier of the whole file (exact when every write of the file is synchronous).
                self.emit(SyncOp, inode=description.inode)
        if not explicit:
            description.position = offset + len(data)
        return offset

    def truncate(self, inode: int, length: int) -> None:
        if length == len(self.content[inode]):
            return  # no change (O_TRUNC of a new file): any prefix with it equals one without
        self.emit(DataOp, kind="truncate", inode=inode, offset=length)
        apply_truncate(self.content[inode], length)

    def lookup(self, rel: str, what: str) -> int:
        inode = self.names.get(rel)
        if inode is None:
            raise TraceModelError(
                f"the trace {what} {rel!r}, which the model does not know: the baseline snapshot "
                "is missing it, or a system call that created it was not traced"
            )
        return inode


def is_ephemeral(rel: str) -> bool:
    """True for files that are not durable state (SQLite's shared-memory WAL index)."""
    return posixpath.basename(rel).endswith(EPHEMERAL_SUFFIXES)


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
    replay = _Replayer(roots, baseline, cwd)
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


def _replay_call(replay: _Replayer, call: RawCall) -> str | None:
    """Apply one call; return its label if it touched the store, else None."""
    handler = _HANDLERS.get(call.name)
    if handler is None:
        return None
    return handler(replay, call)


def display_name(rel: str) -> str:
    """A store path as the labels show it: ``.`` for the store directory itself."""
    return rel or "."


def _open(replay: _Replayer, call: RawCall) -> str | None:
    args = call.args
    if call.name == "openat":
        path = replay.resolve(args[0], args[1])
        flags = decode_flags(args[2])
    elif call.name == "open":
        path, flags = replay.resolve(None, args[0]), decode_flags(args[1])
    else:  # creat
        path, flags = replay.resolve(None, args[0]), {"O_WRONLY", "O_CREAT", "O_TRUNC"}
    rel = replay.relative(path)
    if call.failed:
        if rel is None:
            return None
        return f"open({display_name(rel)}, {_short_flags(flags)})"
    assert call.result is not None
    if rel is None:
        replay.fds[call.result] = _Description("foreign")
        return None
    if "O_TMPFILE" in flags or "__O_TMPFILE" in flags:
        raise TraceModelError(
            f"{call.name}({display_name(rel)}, O_TMPFILE): an unnamed file that gets its name "
            "later (linkat) is not modeled"
        )
    if rel in replay.dirs or "O_DIRECTORY" in flags:
        replay.fds[call.result] = _Description("dir", rel)
        return f"open({display_name(rel)}/)"
    inode = replay.names.get(rel)
    if inode is None:
        if "O_CREAT" not in flags:
            replay.lookup(rel, "opened")
        if posixpath.dirname(rel) not in replay.dirs:
            raise TraceModelError(f"{rel!r} was created in a directory the model does not know")
        inode = replay._new_inode(rel)
        replay.content[inode] = bytearray()
        replay.names[rel] = inode
        replay.dir_op("create", rel, inode)
    writable = bool(flags & {"O_WRONLY", "O_RDWR"})
    if "O_TRUNC" in flags and writable:
        replay.truncate(inode, 0)
    synchronous = bool(flags & {"O_SYNC", "O_DSYNC", "__O_SYNC"})
    replay.fds[call.result] = _Description(
        "file", rel, inode, 0, "O_APPEND" in flags, synchronous=synchronous
    )
    return f"open({rel}, {_short_flags(flags)})"


def _short_flags(flags: set[str]) -> str:
    return "|".join(flag for flag in _SHOWN_FLAGS if flag in flags) or "0"


def _close(replay: _Replayer, call: RawCall) -> str | None:
    fd, _ = decode_fd(call.args[0])
    description = replay.fds.pop(fd, None) if fd is not None else None
    if description is None or description.kind == "foreign":
        return None
    return f"close({display_name(description.path)}{'/' if description.kind == 'dir' else ''})"


def _dup(replay: _Replayer, call: RawCall) -> str | None:
    if call.failed:
        return None
    if call.name == "fcntl" and not call.args[1].strip().startswith("F_DUPFD"):
        return None  # locks and flags: no effect on the file system's contents
    fd, _ = decode_fd(call.args[0])
    source = replay.fds.get(fd) if fd is not None else None
    assert call.result is not None
    target = call.result if call.name in ("dup", "fcntl") else decode_fd(call.args[1])[0]
    if target is not None:
        replay.fds[target] = source if source is not None else _Description("foreign")
    return None


def _lseek(replay: _Replayer, call: RawCall) -> str | None:
    description = replay.descriptor(call.args[0])
    if description is not None and not call.failed:
        assert call.result is not None
        description.position = call.result
    return None


def _write(replay: _Replayer, call: RawCall) -> str | None:
    description = replay.descriptor(call.args[0])
    if description is None or description.kind != "file":
        return None
    if call.failed:
        return f"{call.name}({description.path})"
    assert call.result is not None
    vectored = call.name in ("writev", "pwritev", "pwritev2")
    data = decode_iovec(call.args[1]) if vectored else decode_string(call.args[1])
    data = data[: call.result]
    offset: int | None = None
    synchronous = False
    if call.name == "pwrite64":
        offset = int(call.args[3], 0)
    elif call.name in ("pwritev", "pwritev2"):
        offset = int(call.args[3], 0)
        offset = None if offset == -1 else offset
        if call.name == "pwritev2" and len(call.args) > 4:
            synchronous = bool(decode_flags(call.args[4]) & {"RWF_SYNC", "RWF_DSYNC"})
    at = replay.write(description, offset, data, synchronous=synchronous)
    durable = "; durable at return" if synchronous or description.synchronous else ""
    return f"{call.name}({description.path}, {len(data)} B at {at}{durable})"


def _copy(replay: _Replayer, call: RawCall) -> str | None:
    if call.name == "sendfile":
        out_token, in_token, in_offset_token, out_offset_token = (
            call.args[0],
            call.args[1],
            call.args[2],
            None,
        )
    else:  # copy_file_range(fd_in, off_in, fd_out, off_out, len, flags)
        in_token, in_offset_token, out_token, out_offset_token = (
            call.args[0],
            call.args[1],
            call.args[2],
            call.args[3],
        )
    target = replay.descriptor(out_token)
    if target is None or target.kind != "file":
        return None
    if call.failed:
        return f"{call.name}({target.path})"
    source = replay.descriptor(in_token)
    if source is None or source.kind != "file":
        raise TraceModelError(
            f"{call.name} copied into {target.path} from outside the store; its bytes are unknown"
        )
    assert call.result is not None
    start = decode_offset(in_offset_token)
    explicit = start is not None
    if start is None:
        start = source.position
    data = bytes(replay.content[source.inode][start : start + call.result])
    if not explicit:
        source.position = start + len(data)
    at = replay.write(target, decode_offset(out_offset_token) if out_offset_token else None, data)
    return f"{call.name}({target.path} <- {source.path}, {len(data)} B at {at})"


def _truncate(replay: _Replayer, call: RawCall) -> str | None:
    if call.name == "ftruncate":
        description = replay.descriptor(call.args[0])
        if description is None or description.kind != "file":
            return None
        inode, rel = description.inode, description.path
    else:
        rel_or_none = replay.relative(replay.resolve(None, call.args[0]))
        if rel_or_none is None:
            return None
        rel = rel_or_none
        inode = replay.lookup(rel, "truncated") if not call.failed else -1
    length = int(call.args[1], 0)
    if not call.failed:
        replay.truncate(inode, length)
    return f"{call.name}({rel}, {length})"


def _fallocate(replay: _Replayer, call: RawCall) -> str | None:
    description = replay.descriptor(call.args[0])
    if description is None or description.kind != "file":
        return None
    mode = call.args[1].strip()
    offset, length = int(call.args[2], 0), int(call.args[3], 0)
    if not call.failed:
        if mode == "0":
            if offset + length > len(replay.content[description.inode]):
                replay.truncate(description.inode, offset + length)
        elif mode != "FALLOC_FL_KEEP_SIZE":
            raise TraceModelError(f"fallocate mode {mode} on {description.path} is not modeled")
    return f"fallocate({description.path}, {mode}, {offset}, {length})"


def _rename(replay: _Replayer, call: RawCall) -> str | None:
    args = call.args
    if call.name == "rename":
        old, new = replay.resolve(None, args[0]), replay.resolve(None, args[1])
        flags = set()
    else:
        old, new = replay.resolve(args[0], args[1]), replay.resolve(args[2], args[3])
        flags = decode_flags(args[4]) if len(args) > 4 else set()
    rel_old, rel_new = replay.relative(old), replay.relative(new)
    if rel_old is None and rel_new is None:
        return None
    label = f"rename({display_name(rel_old or str(old))} -> {display_name(rel_new or str(new))})"
    if call.failed:
        return label
    if rel_old is None or rel_new is None:
        raise TraceModelError(f"{label} moves a file into or out of the store: not modeled")
    if "RENAME_EXCHANGE" in flags:
        raise TraceModelError(
            f"{call.name}({display_name(rel_old)}, {display_name(rel_new)}, RENAME_EXCHANGE): "
            "swapping two names is not modeled"
        )
    if rel_old in replay.dirs:
        raise TraceModelError(f"{label} renames a directory: not modeled")
    inode = replay.lookup(rel_old, "renamed")
    if rel_old == rel_new:
        return label
    if posixpath.dirname(rel_old) == posixpath.dirname(rel_new):
        replay.dir_op("rename", rel_old, inode, rel_new)
    else:  # two directories, two independent changes (crashstates, rule 2)
        replay.dir_op("link", rel_new, inode)
        replay.dir_op("unlink", rel_old, inode)
    del replay.names[rel_old]
    replay.names[rel_new] = inode
    return label


def _unlink(replay: _Replayer, call: RawCall) -> str | None:
    if call.name == "unlinkat":
        path, flags = replay.resolve(call.args[0], call.args[1]), decode_flags(call.args[2])
    else:
        path, flags = replay.resolve(None, call.args[0]), set()
    rel = replay.relative(path)
    if rel is None:
        return None
    directory = call.name == "rmdir" or "AT_REMOVEDIR" in flags
    label = f"{'rmdir' if directory else 'unlink'}({display_name(rel)})"
    if call.failed:
        return label
    if directory:
        replay.dir_op("rmdir", rel, 0)
        replay.dirs.discard(rel)
    else:
        inode = replay.lookup(rel, "unlinked")
        replay.dir_op("unlink", rel, inode)
        del replay.names[rel]
    return label


def _link(replay: _Replayer, call: RawCall) -> str | None:
    args = call.args
    if call.name == "link":
        old, new = replay.resolve(None, args[0]), replay.resolve(None, args[1])
    else:
        old, new = replay.resolve(args[0], args[1]), replay.resolve(args[2], args[3])
    rel_old, rel_new = replay.relative(old), replay.relative(new)
    if rel_new is None:
        return None
    label = f"link({display_name(rel_old or str(old))} -> {rel_new})"
    if call.failed:
        return label
    if rel_old is None:
        raise TraceModelError(f"{label} links a file from outside the store: not modeled")
    inode = replay.lookup(rel_old, "linked")
    replay.dir_op("link", rel_new, inode)
    replay.names[rel_new] = inode
    return label


def _mkdir(replay: _Replayer, call: RawCall) -> str | None:
    path = (
        replay.resolve(call.args[0], call.args[1])
        if call.name == "mkdirat"
        else replay.resolve(None, call.args[0])
    )
    rel = replay.relative(path)
    if rel is None or rel == "":
        return None
    label = f"mkdir({rel})"
    if not call.failed:
        replay.dir_op("mkdir", rel, 0)
        replay.dirs.add(rel)
    return label


def _fsync(replay: _Replayer, call: RawCall) -> str | None:
    description = replay.descriptor(call.args[0])
    if description is None:
        return None
    suffix = "/" if description.kind == "dir" else ""
    label = f"{call.name}({display_name(description.path)}{suffix})"
    if call.failed:
        return label  # a failed fsync promises nothing
    if description.kind == "dir":
        replay.emit(SyncOp, directory=description.path)
    else:
        replay.emit(SyncOp, inode=description.inode)
    return label


def _sync_all(replay: _Replayer, call: RawCall) -> str | None:
    if call.name == "syncfs":
        description = replay.descriptor(call.args[0])
        if description is None:
            return None
    if not call.failed:
        replay.emit(SyncOp, everything=True)
    return f"{call.name}()"


def _sync_file_range(replay: _Replayer, call: RawCall) -> str | None:
    description = replay.descriptor(call.args[0])
    if description is None:
        return None
    return f"sync_file_range({description.path})   (not a durability guarantee)"


def _mmap(replay: _Replayer, call: RawCall) -> str | None:
    """A shared writable mapping of a store file: its writes never appear in the trace."""
    if call.failed or len(call.args) < 5:
        return None
    description = replay.descriptor(call.args[4])
    if description is None or description.kind != "file":
        return None
    protection, flags = decode_flags(call.args[2]), decode_flags(call.args[3])
    label = f"mmap({description.path}, {call.args[2].strip()}, {call.args[3].strip()})"
    if "PROT_WRITE" in protection and flags & {"MAP_SHARED", "MAP_SHARED_VALIDATE"}:
        raise TraceModelError(
            f"{label}: writes through a shared mapping never show in the trace (they reach the "
            "file whenever the kernel writes the pages back), so the model cannot follow them"
        )
    return label


def _symlink(replay: _Replayer, call: RawCall) -> str | None:
    """A symbolic link in the store: the model has files and directories only."""
    if call.name == "symlinkat":
        path = replay.resolve(call.args[1], call.args[2])
    else:
        path = replay.resolve(None, call.args[1])
    rel = replay.relative(path)
    if rel is None:
        return None
    target = os.fsdecode(decode_string(call.args[0]))
    label = f"{call.name}({target} as {display_name(rel)})"
    if call.failed:
        return label
    raise TraceModelError(
        f"{label}: symbolic links (a symlink swap) are not modeled: which file a name reaches "
        "after a power cut would depend on the link and its target persisting separately"
    )


_HANDLERS = {
    "openat": _open,
    "open": _open,
    "creat": _open,
    "close": _close,
    "dup": _dup,
    "dup2": _dup,
    "dup3": _dup,
    "fcntl": _dup,
    "lseek": _lseek,
    "write": _write,
    "pwrite64": _write,
    "writev": _write,
    "pwritev": _write,
    "pwritev2": _write,
    "sendfile": _copy,
    "copy_file_range": _copy,
    "ftruncate": _truncate,
    "truncate": _truncate,
    "fallocate": _fallocate,
    "rename": _rename,
    "renameat": _rename,
    "renameat2": _rename,
    "unlink": _unlink,
    "unlinkat": _unlink,
    "rmdir": _unlink,
    "link": _link,
    "linkat": _link,
    "mkdir": _mkdir,
    "mkdirat": _mkdir,
    "fsync": _fsync,
    "fdatasync": _fsync,
    "sync": _sync_all,
    "syncfs": _sync_all,
    "sync_file_range": _sync_file_range,
    "mmap": _mmap,
    "symlink": _symlink,
    "symlinkat": _symlink,
}
TRACED_SYSCALLS = tuple(_HANDLERS)
"""What to give ``strace -e trace=``: every call the model follows."""


# ---------------------------------------------------------------- contents and visible names


def apply_write(content: bytearray, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset``, zero-filling a gap past the end (as the kernel does)."""
    if offset > len(content):
        content.extend(bytes(offset - len(content)))
    content[offset : offset + len(data)] = data


def apply_truncate(content: bytearray, length: int) -> None:
    """Cut ``content`` to ``length`` bytes, or extend it with zeros up to ``length``."""
    if length < len(content):
        del content[length:]
    else:
        content.extend(bytes(length - len(content)))


def has_ancestors_in(path: str, dirs: set[str] | frozenset[str]) -> bool:
    """True when every directory above ``path`` (up to the store directory) is in ``dirs``."""
    parent = posixpath.dirname(path)
    while parent:
        if parent not in dirs:
            return False
        parent = posixpath.dirname(parent)
    return True


def visible_files(
    names: Mapping[str, int], dirs: frozenset[str], content: Mapping[int, bytes]
) -> dict[str, bytes]:
    """Files whose directory (and every ancestor) exists, with their inode's content."""
    return {
        name: bytes(content.get(inode, b""))
        for name, inode in names.items()
        if posixpath.dirname(name) in dirs and has_ancestors_in(name, dirs)
    }
