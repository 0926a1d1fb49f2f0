"""The abstract file system while a trace is replayed: names, inodes, contents, descriptors.

A :class:`Replayer` starts from the :class:`~harness.nemesis.powerloss.operation_trace.Baseline`
the operation found (its files, directories and the descriptors already open) and is moved on by
the handlers of :mod:`harness.nemesis.powerloss.syscall_handlers`, one system call at a time.
Every change it makes is also *emitted* as an event (a ``DirOp``, ``DataOp`` or ``SyncOp``, in
order), which is what the persistence model works on. Paths are kept relative to the store
directory; a path outside it, or a descriptor opened on something outside it, is ignored::

    >>> replay = Replayer(["/r"], Baseline({"a.json": b"{}"}), cwd="/w")
    >>> replay.relative("/r/a.json"), replay.relative("/elsewhere/a.json")
    ('a.json', None)
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from harness.nemesis.powerloss.operation_trace import (
    Baseline,
    DataOp,
    DirOp,
    Event,
    SyncOp,
    apply_truncate,
    apply_write,
    is_ephemeral,
)
from harness.nemesis.powerloss.strace_log import TraceModelError, decode_fd, decode_string


@dataclass
class OpenDescription:
    """An open file description: shared by dup'ed descriptors, like the kernel's."""

    kind: str  # file | dir | foreign
    path: str = ""
    inode: int = -1
    position: int = 0
    append: bool = False
    synchronous: bool = False  # O_SYNC / O_DSYNC: every write is durable when it returns


class Replayer:
    """Replays system calls into names, inodes and contents, emitting :data:`Event` values."""

    def __init__(self, roots: Iterable[str], baseline: Baseline, cwd: str | None) -> None:
        self.roots = sorted({posixpath.normpath(root) for root in roots}, key=len, reverse=True)
        self.cwd = cwd
        self.names: dict[str, int] = {}
        self.content: dict[int, bytearray] = {}
        self.dirs = set(baseline.dirs) | {""}
        self.labels: dict[int, str] = {}
        for path in sorted(baseline.files):
            inode = self.new_inode(path)
            self.names[path] = inode
            self.content[inode] = bytearray(baseline.files[path])
        self.fds: dict[int, OpenDescription] = {}
        for fd, opened in baseline.open_files.items():
            if opened.path in self.dirs:
                self.fds[fd] = OpenDescription("dir", opened.path)
            elif opened.path in self.names:
                inode = self.names[opened.path]
                self.fds[fd] = OpenDescription(
                    "file", opened.path, inode, opened.position, opened.append
                )
        self.seq = 0
        self.events: list[Event] = []

    # ------------------------------------------------------------ paths and descriptors

    def new_inode(self, path: str) -> int:
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

    def descriptor(self, token: str) -> OpenDescription | None:
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
        description: OpenDescription,
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
