"""Crash states: every on-disk state a power cut may leave behind one traced operation.

A process kill leaves the page cache alone: whatever the process wrote, the kernel will still
write. A power cut does not: only what was made durable survives, and the rest may survive in
part. This module turns an ``strace`` log of one store operation into the list of directory
trees a power cut could leave, following ALICE (Pillai et al., "All File Systems Are Not Created
Equal", OSDI 2014) and CrashMonkey (Mohan et al., OSDI 2018): record the system calls, replay
them into an abstract file system, and enumerate what a *conservative* persistence model allows
at every crash point.

The persistence model (what may be on disk after the power comes back):

1. **File data is durable up to its last fsync.** ``fsync``/``fdatasync`` of a file makes every
   write and truncate of that file issued before it durable. Unsynced data operations after it
   may be lost, or any *prefix* of them may survive, in order; the last surviving write may be
   **torn** (only the first half of its bytes) or, when it grew the file, **zero-filled** (the
   new size reached the disk, the data did not: ext4 ``data=writeback``, XFS). A file created and
   never fsynced may be empty. Files of different inodes are independent.
2. **Directory entries are durable up to the last fsync of their directory.** Creates, renames,
   unlinks, links, ``mkdir`` and ``rmdir`` in one directory reach the disk as a *prefix* of the
   order they were issued in; every one issued before an fsync of that directory survives.
   **fsync of a file does not make its name durable** (POSIX does not promise it; ext4 happens
   to, other file systems do not). A rename across directories counts as a link in the target
   directory and an unlink in the source one, each persisting on its own.
3. ``sync()`` and ``syncfs()`` make everything durable. ``fsync``/``fdatasync`` of a directory
   descriptor (SQLite uses the latter) is the directory barrier of rule 2. ``sync_file_range``
   makes nothing durable (it flushes neither metadata nor the disk's cache).
4. **The crash may come after any system call** of the operation, including after the last one,
   when the operation has returned: those states are *acknowledged*, and the store promised the
   new version would survive them.

The states at one crash point are every combination of (for each directory) how many of its
unsynced changes persisted and (for each file) which of its data variants persisted. A call that
changes nothing (a read-only ``open``, a ``close``) adds no crash point: the states after it are
the states before it. Identical directory trees are checked once; a tree possible both before
and after the operation returned is checked as acknowledged (the stricter promise). Above a cap,
a seeded sample is kept, always with each point's two extremes (nothing unsynced persisted,
everything persisted). What the model does not do: reorder unsynced writes *within* a file, tear
a write anywhere but in the middle, or lose data that was synced (a lying disk cache).

Files the operation did not touch keep the contents they had when it started; the explorer
makes that baseline durable first (``sync``). SQLite's ``-shm`` file is left out everywhere: it
is shared memory (``mmap``) that SQLite rebuilds from the WAL when it is missing, never a source
of truth, and writes through ``mmap`` are invisible to strace anyway.

A tiny example: the seed's save, traced (paths relative to the store directory)::

    #1 open(j0.json.tmp, O_WRONLY|O_CREAT|O_TRUNC)    creates the name j0.json.tmp
    #2 write(j0.json.tmp, 60 B at 0)
    #3 fsync(j0.json.tmp)                             the 60 bytes are durable, the name is not
    #4 close(j0.json.tmp)
    #5 rename(j0.json.tmp -> j0.json)                 the save returns after this

After #5 (acknowledged) the directory may hold both changes (the new ``j0.json``), only the
create, or neither: the last two leave the old ``j0.json`` in place, and the acknowledged write
is lost. With an fsync of the directory
after the rename, the only state left after it is the new ``j0.json``.

:func:`parse_strace` reads ``strace -f -y -xx`` output, :func:`model_trace` replays one operation
into a :class:`OperationTrace`, and :func:`enumerate_crash_states` lists the
:class:`CrashState` values, deduplicated and capped by seeded sampling.
"""

from __future__ import annotations

import itertools
import math
import os
import posixpath
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from harness.errors import HarnessError

EPHEMERAL_SUFFIXES = ("-shm",)
"""Names of shared-memory files that are not durable state (SQLite's WAL index)."""

# Calls that only move a descriptor's bookkeeping: followed, but not numbered as store calls.
_BOOKKEEPING = frozenset({"lseek", "fcntl", "dup", "dup2", "dup3"})
_STRING_TOKEN = re.compile(r'^"((?:[^"\\]|\\.)*)"(\.\.\.)?$', re.S)
_FD_TOKEN = re.compile(r"^(-?\d+|AT_FDCWD)(?:<(.*)>)?$", re.S)
_IOV_BASE = re.compile(r'iov_base="((?:[^"\\]|\\.)*)"(\.\.\.)?', re.S)
_RESULT = re.compile(r"^(-?\d+|\?|0x[0-9a-fA-F]+)(?:<(.*?)>)?(?:\s+([A-Z][A-Z0-9_]+)\b.*)?$", re.S)
_SHOWN_FLAGS = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND")
_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "\\": 92, '"': 34}


class TraceModelError(HarnessError):
    """The trace cannot be replayed faithfully; the message says what and how to fix it."""


# ---------------------------------------------------------------- parsing strace output


@dataclass(frozen=True, slots=True)
class RawCall:
    """One completed system call of an strace log, arguments still as strace printed them."""

    pid: int
    name: str
    args: tuple[str, ...]
    result: int | None  # None when the call never returned ("= ?")
    error: str | None  # errno name when it failed
    annotation: str | None  # -y: the path behind a returned descriptor
    line: str

    @property
    def failed(self) -> bool:
        return self.result is None or self.result < 0


def parse_strace(text: str) -> list[RawCall]:
    """Parse ``strace -f -y -xx`` output; interrupted calls are joined, other lines skipped.

    >>> [c.name for c in parse_strace('12 fsync(3</d/a>) = 0\\n12 close(3</d/a>) = 0\\n')]
    ['fsync', 'close']
    """
    pending: dict[int, str] = {}
    calls = []
    for raw in text.splitlines():
        pid_text, _, rest = raw.strip().partition(" ")
        if not pid_text.isdigit():
            pid_text, rest = "0", raw.strip()
        pid, rest = int(pid_text), rest.strip()
        if rest.startswith("<... ") and " resumed>" in rest:
            head = pending.pop(pid, None)
            if head is None:
                continue
            rest = head + rest.split(" resumed>", 1)[1]
        elif rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        call = parse_strace_line(rest, pid, raw)
        if call is not None:
            calls.append(call)
    return calls


def parse_strace_line(text: str, pid: int = 0, line: str | None = None) -> RawCall | None:
    """Parse ``name(arg, ...) = result``; None for anything else (signals, exit notices)."""
    match = re.match(r"^([a-z_][a-z0-9_]*)\(", text)
    if match is None:
        return None
    args, end = _split_arguments(text, match.end())
    if end is None:
        return None
    tail = text[end:].strip()
    if not tail.startswith("="):
        return None
    result_match = _RESULT.match(tail[1:].strip())
    if result_match is None:
        return None
    value, annotation, error = result_match.groups()
    result = None if value == "?" else int(value, 0)
    path = _unescape(annotation).decode("utf-8", "surrogateescape") if annotation else None
    return RawCall(pid, match.group(1), tuple(args), result, error, path, line or text)


def _split_arguments(text: str, start: int) -> tuple[list[str], int | None]:
    """Split the arguments at top-level commas; return them and the index after ``)``."""
    args: list[str] = []
    depth, index, begin = 0, start, start
    in_string = False
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "([{<":
            depth += 1
        elif char in "]}" or (char == ">" and text[index - 1] != "="):
            depth -= 1
        elif char == ")":
            if depth == 0:
                last = text[begin:index].strip()
                if last or args:
                    args.append(last)
                return args, index + 1
            depth -= 1
        elif char == "," and depth == 0:
            args.append(text[begin:index].strip())
            begin = index + 1
        index += 1
    return args, None


def _unescape(text: str) -> bytes:
    """Bytes of a C-escaped strace string (``\\x41``, ``\\n``, octal, or plain characters)."""
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 >= len(text):
            out += char.encode("utf-8", "surrogateescape")
            index += 1
            continue
        code = text[index + 1]
        if code == "x":
            out.append(int(text[index + 2 : index + 4], 16))
            index += 4
        elif code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            index += 2
        elif code.isdigit():
            digits = re.match(r"[0-7]{1,3}", text[index + 1 :])
            assert digits is not None
            out.append(int(digits.group(0), 8) & 0xFF)
            index += 1 + len(digits.group(0))
        else:
            out += code.encode("utf-8", "surrogateescape")
            index += 2
    return bytes(out)


def decode_string(token: str) -> bytes:
    """The bytes of a quoted string argument; raise if strace cut it short (``"..."...``)."""
    match = _STRING_TOKEN.match(token.strip())
    if match is None:
        raise TraceModelError(f"expected a quoted string in the trace, got {token[:60]!r}")
    if match.group(2):
        raise TraceModelError(
            "strace truncated a written buffer: raise its -s limit above the largest write "
            "(or lower workload.payload_bytes)"
        )
    return _unescape(match.group(1))


def _fd_token(token: str) -> tuple[int | None, str | None]:
    """(descriptor, -y path) of an fd argument; AT_FDCWD is returned as descriptor None."""
    match = _FD_TOKEN.match(token.strip())
    if match is None:
        raise TraceModelError(f"expected a file descriptor in the trace, got {token[:60]!r}")
    number, annotation = match.groups()
    path = _unescape(annotation).decode("utf-8", "surrogateescape") if annotation else None
    return (None if number == "AT_FDCWD" else int(number)), path


def _flags(token: str) -> set[str]:
    return set(token.strip().split("|"))


def _offset_token(token: str) -> int | None:
    """``NULL`` -> None, ``[0] => [60]`` or ``[60]`` -> the first number."""
    found = re.search(r"-?\d+", token)
    return None if token.strip() == "NULL" or found is None else int(found.group(0))


# ---------------------------------------------------------------- the replayed operation


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
    """A durability barrier: one file (``inode``), one directory, or everything."""

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

    @property
    def changing_calls(self) -> list[StoreCall]:
        return [call for call in self.calls if call.events]

    def final_files(self) -> dict[str, bytes]:
        """What the page cache held when the operation ended (every write persisted)."""
        return _visible_files(self.final_names, self.final_dirs, self.final_content)

    def listing(self) -> str:
        """The numbered store calls, one a line (the crash points refer to these numbers)."""
        return "".join(
            f"#{call.number} {call.label}{'' if call.events else '   (no change to the disk)'}\n"
            for call in self.calls
        )


@dataclass
class _Description:
    """An open file description: shared by dup'ed descriptors, like the kernel's."""

    kind: str  # file | dir | foreign
    path: str = ""
    inode: int = -1
    position: int = 0
    append: bool = False


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
            fd, annotation = _fd_token(dirfd_token)
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
        fd, annotation = _fd_token(token)
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

    def write(self, description: _Description, offset: int | None, data: bytes) -> int:
        """A write through ``description``; None offset means its position (or end if append)."""
        content = self.content[description.inode]
        explicit = offset is not None
        if description.append:
            offset = len(content)  # Linux appends even for pwrite on an O_APPEND descriptor
        elif offset is None:
            offset = description.position
        if data:
            self.emit(DataOp, kind="write", inode=description.inode, offset=offset, data=data)
            _apply_write(content, offset, data)
        if not explicit:
            description.position = offset + len(data)
        return offset

    def truncate(self, inode: int, length: int) -> None:
        if length == len(self.content[inode]):
            return  # no change (O_TRUNC of a new file): any prefix with it equals one without
        self.emit(DataOp, kind="truncate", inode=inode, offset=length)
        _apply_truncate(self.content[inode], length)

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
    calls: Iterable[RawCall], roots: Iterable[str], baseline: Baseline, cwd: str | None = None
) -> OperationTrace:
    """Replay ``calls`` (one operation's window of the trace) over ``baseline``.

    ``roots`` are the absolute spellings of the store directory (as given, and resolved).
    Calls outside the store are ignored; calls the model cannot follow raise
    :class:`TraceModelError`.
    """
    replay = _Replayer(roots, baseline, cwd)
    base_names = dict(replay.names)
    base_content = {inode: bytes(data) for inode, data in replay.content.items()}
    base_dirs = frozenset(replay.dirs)
    store_calls: list[StoreCall] = []
    for call in calls:
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
    )


def _replay_call(replay: _Replayer, call: RawCall) -> str | None:
    """Apply one call; return its label if it touched the store, else None."""
    handler = _HANDLERS.get(call.name)
    if handler is None:
        return None
    return handler(replay, call)


def _name(rel: str) -> str:
    return rel or "."


def _open(replay: _Replayer, call: RawCall) -> str | None:
    args = call.args
    if call.name == "openat":
        path = replay.resolve(args[0], args[1])
        flags = _flags(args[2])
    elif call.name == "open":
        path, flags = replay.resolve(None, args[0]), _flags(args[1])
    else:  # creat
        path, flags = replay.resolve(None, args[0]), {"O_WRONLY", "O_CREAT", "O_TRUNC"}
    rel = replay.relative(path)
    if call.failed:
        if rel is None:
            return None
        return f"open({_name(rel)}, {_short_flags(flags)})"
    assert call.result is not None
    if rel is None:
        replay.fds[call.result] = _Description("foreign")
        return None
    if "O_TMPFILE" in flags or "__O_TMPFILE" in flags:
        raise TraceModelError(f"O_TMPFILE in the store ({_name(rel)}) is not modeled")
    if rel in replay.dirs or "O_DIRECTORY" in flags:
        replay.fds[call.result] = _Description("dir", rel)
        return f"open({_name(rel)}/)"
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
    replay.fds[call.result] = _Description("file", rel, inode, 0, "O_APPEND" in flags)
    return f"open({rel}, {_short_flags(flags)})"


def _short_flags(flags: set[str]) -> str:
    return "|".join(flag for flag in _SHOWN_FLAGS if flag in flags) or "0"


def _close(replay: _Replayer, call: RawCall) -> str | None:
    fd, _ = _fd_token(call.args[0])
    description = replay.fds.pop(fd, None) if fd is not None else None
    if description is None or description.kind == "foreign":
        return None
    return f"close({_name(description.path)}{'/' if description.kind == 'dir' else ''})"


def _dup(replay: _Replayer, call: RawCall) -> str | None:
    if call.failed:
        return None
    if call.name == "fcntl" and not call.args[1].strip().startswith("F_DUPFD"):
        return None  # locks and flags: no effect on the file system's contents
    fd, _ = _fd_token(call.args[0])
    source = replay.fds.get(fd) if fd is not None else None
    assert call.result is not None
    target = call.result if call.name in ("dup", "fcntl") else _fd_token(call.args[1])[0]
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
    if call.name in ("writev", "pwritev", "pwritev2"):
        data = b""
        for body, cut in _IOV_BASE.findall(call.args[1]):
            if cut:
                raise TraceModelError(
                    "strace truncated a written buffer: raise its -s limit above the largest write"
                )
            data += _unescape(body)
    else:
        data = decode_string(call.args[1])
    data = data[: call.result]
    offset: int | None = None
    if call.name == "pwrite64":
        offset = int(call.args[3], 0)
    elif call.name in ("pwritev", "pwritev2"):
        offset = int(call.args[3], 0)
        offset = None if offset == -1 else offset
    at = replay.write(description, offset, data)
    return f"{call.name}({description.path}, {len(data)} B at {at})"


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
    start = _offset_token(in_offset_token)
    explicit = start is not None
    if start is None:
        start = source.position
    data = bytes(replay.content[source.inode][start : start + call.result])
    if not explicit:
        source.position = start + len(data)
    at = replay.write(target, _offset_token(out_offset_token) if out_offset_token else None, data)
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
        flags = _flags(args[4]) if len(args) > 4 else set()
    rel_old, rel_new = replay.relative(old), replay.relative(new)
    if rel_old is None and rel_new is None:
        return None
    label = f"rename({_name(rel_old or str(old))} -> {_name(rel_new or str(new))})"
    if call.failed:
        return label
    if rel_old is None or rel_new is None:
        raise TraceModelError(f"{label} moves a file into or out of the store: not modeled")
    if "RENAME_EXCHANGE" in flags:
        raise TraceModelError(f"{label} with RENAME_EXCHANGE is not modeled")
    if rel_old in replay.dirs:
        raise TraceModelError(f"{label} renames a directory: not modeled")
    inode = replay.lookup(rel_old, "renamed")
    if rel_old == rel_new:
        return label
    if posixpath.dirname(rel_old) == posixpath.dirname(rel_new):
        replay.dir_op("rename", rel_old, inode, rel_new)
    else:  # two directories, two independent changes (see the module docstring)
        replay.dir_op("link", rel_new, inode)
        replay.dir_op("unlink", rel_old, inode)
    del replay.names[rel_old]
    replay.names[rel_new] = inode
    return label


def _unlink(replay: _Replayer, call: RawCall) -> str | None:
    if call.name == "unlinkat":
        path, flags = replay.resolve(call.args[0], call.args[1]), _flags(call.args[2])
    else:
        path, flags = replay.resolve(None, call.args[0]), set()
    rel = replay.relative(path)
    if rel is None:
        return None
    directory = call.name == "rmdir" or "AT_REMOVEDIR" in flags
    label = f"{'rmdir' if directory else 'unlink'}({_name(rel)})"
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
    label = f"link({_name(rel_old or str(old))} -> {rel_new})"
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
    label = f"{call.name}({_name(description.path)}{suffix})"
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
}
TRACED_SYSCALLS = tuple(_HANDLERS)
"""What to give ``strace -e trace=``: every call the model follows."""


def _apply_write(content: bytearray, offset: int, data: bytes) -> None:
    if offset > len(content):
        content.extend(bytes(offset - len(content)))
    content[offset : offset + len(data)] = data


def _apply_truncate(content: bytearray, length: int) -> None:
    if length < len(content):
        del content[length:]
    else:
        content.extend(bytes(length - len(content)))


# ---------------------------------------------------------------- crash states


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


@dataclass(frozen=True, slots=True)
class _Variant:
    """How much of one file's unsynced data persisted: ``kept`` ops, then maybe a partial one."""

    kept: int
    partial: str | None = None  # torn | zeros: what happened to op number ``kept``


@dataclass
class _Dimension:
    """One independent choice at a crash point: a directory's prefix or a file's data."""

    kind: str  # dir | data
    key: str | int  # directory or inode
    ops: list[DirOp] | list[DataOp]
    minimum: int
    options: list[int] | list[_Variant]


def enumerate_crash_states(
    trace: OperationTrace, *, returned: bool, max_states: int, rng: random.Random
) -> Exploration:
    """Every state the model allows after each call of ``trace``, deduplicated and capped.

    When the operation ``returned``, the states after its last call are *acknowledged*. A state
    that is possible both before and after the acknowledgement is kept once, as acknowledged
    (the stricter check). Above ``max_states`` distinct states, a seeded sample is kept, always
    including each crash point's two extremes (nothing unsynced persisted, everything persisted).
    """
    changing = [index + 1 for index, call in enumerate(trace.calls) if call.events]
    points = [0, *changing]
    last = points[-1]
    combinations = 0
    per_point: list[list[CrashState]] = []
    for point in points:
        acknowledged = returned and point == last
        states, count = _states_at(trace, point, acknowledged, max_states, rng)
        combinations += count
        per_point.append(states)
    acknowledged_keys = {s.key() for s in per_point[-1]} if returned else set()
    seen: set[tuple[object, ...]] = set()
    distinct: list[CrashState] = []
    for states in per_point:
        for state in states:
            key = state.key()
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
    trace: OperationTrace, point: int, acknowledged: bool, limit: int, rng: random.Random
) -> tuple[list[CrashState], int]:
    events = [event for call in trace.calls[:point] for event in call.events]
    dimensions = _dimensions(trace, events)
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


def _dimensions(trace: OperationTrace, events: list[Event]) -> list[_Dimension]:
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
        variants = _data_variants(trace.base_content.get(inode, b""), ops, minimum)
        dimensions.append(_Dimension("data", inode, ops, minimum, variants))
    return [d for d in dimensions if len(d.options) > 1] + [
        d for d in dimensions if len(d.options) == 1
    ]


def _data_variants(base: bytes, ops: list[DataOp], minimum: int) -> list[_Variant]:
    """The synced data, then each unsynced op in turn: torn, zero-filled (if it grew), whole."""
    size = len(_content(base, ops[:minimum], None))
    variants = [_Variant(minimum)]
    for index in range(minimum, len(ops)):
        op = ops[index]
        if op.kind == "write":
            if len(op.data) >= 2:
                variants.append(_Variant(index, "torn"))
            if op.offset + len(op.data) > size:
                variants.append(_Variant(index, "zeros"))
            size = max(size, op.offset + len(op.data))
        else:
            size = op.offset
        variants.append(_Variant(index + 1))
    return variants


def _content(base: bytes, ops: list[DataOp], partial: tuple[DataOp, str] | None) -> bytes:
    content = bytearray(base)
    for op in ops:
        if op.kind == "write":
            _apply_write(content, op.offset, op.data)
        else:
            _apply_truncate(content, op.offset)
    if partial is not None:
        op, how = partial
        if how == "torn":
            _apply_write(content, op.offset, op.data[: len(op.data) // 2])
        else:  # zeros: the new size is on disk, the new data is not
            _apply_truncate(content, max(len(content), op.offset + len(op.data)))
    return bytes(content)


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
        assert isinstance(option, _Variant) and isinstance(dimension.key, int)
        cache_key = (dimension.key, choice)
        if cache_key not in cache:
            ops = dimension.ops
            partial = (ops[option.kept], option.partial) if option.partial else None
            base = trace.base_content.get(dimension.key, b"")
            cache[cache_key] = _content(base, ops[: option.kept], partial)  # type: ignore[arg-type]
        content[dimension.key] = cache[cache_key]
    names = dict(trace.base_names)
    dirs = set(trace.base_dirs)
    for event in events:
        if isinstance(event, DirOp) and event.seq in persisted:
            _apply_dir_op(names, dirs, event)
    return _visible_files(names, frozenset(dirs), content), frozenset(
        d for d in dirs if _ancestors_present(d, dirs)
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


def _ancestors_present(path: str, dirs: set[str] | frozenset[str]) -> bool:
    parent = posixpath.dirname(path)
    while parent:
        if parent not in dirs:
            return False
        parent = posixpath.dirname(parent)
    return True


def _visible_files(
    names: Mapping[str, int], dirs: frozenset[str], content: Mapping[int, bytes]
) -> dict[str, bytes]:
    """Files whose directory (and every ancestor) exists, with their inode's content."""
    return {
        name: bytes(content.get(inode, b""))
        for name, inode in names.items()
        if posixpath.dirname(name) in dirs and _ancestors_present(name, dirs)
    }


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
            parts.append(f"{_name(str(dimension.key))}/: {', '.join(filter(None, said))}")
            continue
        assert isinstance(option, _Variant) and isinstance(dimension.key, int)
        name = trace.labels.get(dimension.key, f"inode {dimension.key}")
        unsynced = len(dimension.ops) - dimension.minimum
        kept_count = option.kept - dimension.minimum
        if kept_count == unsynced:
            text = f"{name}: all unsynced data persisted ({unsynced} changes)"
        elif kept_count == 0:
            text = f"{name}: unsynced data lost ({unsynced} changes)"
        else:
            text = f"{name}: {kept_count} of {unsynced} unsynced data changes persisted"
        if option.partial:
            op = dimension.ops[option.kept]
            assert isinstance(op, DataOp)
            size = len(op.data)
            if option.partial == "torn":
                text += f", then a torn write ({size // 2} of {size} B at {op.offset})"
            else:
                text += f", then a write that reached the disk as zeros ({size} B at {op.offset})"
        parts.append(text)
    return "; ".join(parts) or "only durable data (nothing unsynced to lose)"


def _ops_text(ops: list[DirOp], limit: int = 3) -> str:
    text = ", ".join(op.describe() for op in ops[:limit])
    return text + (f" and {len(ops) - limit} more" if len(ops) > limit else "")
