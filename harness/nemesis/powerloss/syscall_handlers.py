"""One handler per system call the power-loss model follows: what the call does to the store.

Each handler takes the :class:`~harness.nemesis.powerloss.replayer.Replayer` and one parsed call
(:class:`~harness.nemesis.powerloss.strace_log.RawCall`), applies the call's effect (a name
created, bytes written, a barrier) and returns the call's label as the listing shows it
(``rename(.j0.json.tmp -> j0.json)``), or None when the call did not touch the store. A call the
model cannot follow faithfully raises
:class:`~harness.nemesis.powerloss.strace_log.TraceModelError` naming it, never a guess:

* ``O_TMPFILE`` (an unnamed file named later by ``linkat``);
* a shared writable ``mmap`` of a store file (its writes never show in the trace);
* ``renameat2(RENAME_EXCHANGE)``, a rename of a directory, a rename into or out of the store;
* ``symlink``/``symlinkat`` in the store (the model has files and directories only);
* ``copy_file_range``/``sendfile`` from outside the store, ``fallocate`` modes that punch holes.

:data:`TRACED_SYSCALLS` is what ``strace -e trace=`` is given: exactly the calls handled here.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable

from harness.nemesis.powerloss.operation_trace import SyncOp, display_name
from harness.nemesis.powerloss.replayer import OpenDescription, Replayer
from harness.nemesis.powerloss.strace_log import (
    RawCall,
    TraceModelError,
    decode_fd,
    decode_flags,
    decode_iovec,
    decode_offset,
    decode_string,
)

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


def _open(replay: Replayer, call: RawCall) -> str | None:
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
        replay.fds[call.result] = OpenDescription("foreign")
        return None
    if "O_TMPFILE" in flags or "__O_TMPFILE" in flags:
        raise TraceModelError(
            f"{call.name}({display_name(rel)}, O_TMPFILE): an unnamed file that gets its name "
            "later (linkat) is not modeled"
        )
    if rel in replay.dirs or "O_DIRECTORY" in flags:
        replay.fds[call.result] = OpenDescription("dir", rel)
        return f"open({display_name(rel)}/)"
    inode = replay.names.get(rel)
    if inode is None:
        if "O_CREAT" not in flags:
            replay.lookup(rel, "opened")
        if posixpath.dirname(rel) not in replay.dirs:
            raise TraceModelError(f"{rel!r} was created in a directory the model does not know")
        inode = replay.new_inode(rel)
        replay.content[inode] = bytearray()
        replay.names[rel] = inode
        replay.dir_op("create", rel, inode)
    writable = bool(flags & {"O_WRONLY", "O_RDWR"})
    if "O_TRUNC" in flags and writable:
        replay.truncate(inode, 0)
    synchronous = bool(flags & {"O_SYNC", "O_DSYNC", "__O_SYNC"})
    replay.fds[call.result] = OpenDescription(
        "file", rel, inode, 0, "O_APPEND" in flags, synchronous=synchronous
    )
    return f"open({rel}, {_short_flags(flags)})"


def _short_flags(flags: set[str]) -> str:
    return "|".join(flag for flag in _SHOWN_FLAGS if flag in flags) or "0"


def _close(replay: Replayer, call: RawCall) -> str | None:
    fd, _ = decode_fd(call.args[0])
    description = replay.fds.pop(fd, None) if fd is not None else None
    if description is None or description.kind == "foreign":
        return None
    return f"close({display_name(description.path)}{'/' if description.kind == 'dir' else ''})"


def _dup(replay: Replayer, call: RawCall) -> str | None:
    if call.failed:
        return None
    if call.name == "fcntl" and not call.args[1].strip().startswith("F_DUPFD"):
        return None  # locks and flags: no effect on the file system's contents
    fd, _ = decode_fd(call.args[0])
    source = replay.fds.get(fd) if fd is not None else None
    assert call.result is not None
    target = call.result if call.name in ("dup", "fcntl") else decode_fd(call.args[1])[0]
    if target is not None:
        replay.fds[target] = source if source is not None else OpenDescription("foreign")
    return None


def _lseek(replay: Replayer, call: RawCall) -> str | None:
    description = replay.descriptor(call.args[0])
    if description is not None and not call.failed:
        assert call.result is not None
        description.position = call.result
    return None


def _write(replay: Replayer, call: RawCall) -> str | None:
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


def _copy(replay: Replayer, call: RawCall) -> str | None:
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


def _truncate(replay: Replayer, call: RawCall) -> str | None:
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


def _fallocate(replay: Replayer, call: RawCall) -> str | None:
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


def _rename(replay: Replayer, call: RawCall) -> str | None:
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
    else:  # two directories, two independent changes (crash_states, rule 2)
        replay.dir_op("link", rel_new, inode)
        replay.dir_op("unlink", rel_old, inode)
    del replay.names[rel_old]
    replay.names[rel_new] = inode
    return label


def _unlink(replay: Replayer, call: RawCall) -> str | None:
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


def _link(replay: Replayer, call: RawCall) -> str | None:
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


def _mkdir(replay: Replayer, call: RawCall) -> str | None:
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


def _fsync(replay: Replayer, call: RawCall) -> str | None:
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


def _sync_all(replay: Replayer, call: RawCall) -> str | None:
    if call.name == "syncfs":
        description = replay.descriptor(call.args[0])
        if description is None:
            return None
    if not call.failed:
        replay.emit(SyncOp, everything=True)
    return f"{call.name}()"


def _sync_file_range(replay: Replayer, call: RawCall) -> str | None:
    description = replay.descriptor(call.args[0])
    if description is None:
        return None
    return f"sync_file_range({description.path})   (not a durability guarantee)"


def _mmap(replay: Replayer, call: RawCall) -> str | None:
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


def _symlink(replay: Replayer, call: RawCall) -> str | None:
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


HANDLERS: dict[str, Callable[[Replayer, RawCall], str | None]] = {
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
TRACED_SYSCALLS = tuple(HANDLERS)
"""What to give ``strace -e trace=``: every call the model follows."""
