"""What a replayed operation is made of: numbered store calls, and the changes each one made.

:func:`~harness.nemesis.powerloss.replay.model_trace` turns one operation's system calls into an
:class:`OperationTrace`: the store directory before (:class:`Baseline`) and after, and every call
that touched the store as a :class:`StoreCall` carrying its changes, each one of three kinds::

    DirOp   create, rename, link, unlink, mkdir or rmdir of one name in one directory
    DataOp  a write at an offset, or a truncate, of one file (an inode, not a name)
    SyncOp  a durability barrier: one file, one directory, or everything

The persistence model (:mod:`harness.nemesis.powerloss.crash_states`) decides which of those
changes a power cut may lose; the helpers at the end are the little arithmetic both sides share
(a write past the end zero-fills the gap; a name is visible only while its directories exist)::

    >>> content = bytearray(b"ab")
    >>> apply_write(content, 4, b"z"); bytes(content)
    b'ab\\x00\\x00z'
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

EPHEMERAL_SUFFIXES = ("-shm",)
"""Names of shared-memory files that are not durable state (SQLite's WAL index)."""


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


def is_ephemeral(rel: str) -> bool:
    """True for files that are not durable state (SQLite's shared-memory WAL index)."""
    return posixpath.basename(rel).endswith(EPHEMERAL_SUFFIXES)


def display_name(rel: str) -> str:
    """A store path as the labels show it: ``.`` for the store directory itself."""
    return rel or "."


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
