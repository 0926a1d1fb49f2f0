"""Control (correct, unusual): each job file holds two slots and a header naming the current one.

Layout of ``root/<job>.json``::

    page 0        one byte, ``A`` or ``B``: the slot that holds the current version
    slot A        at 4 KiB: an 8-hex-digit length line, then the record of ``base.py``
    slot B        at 4 KiB + 64 KiB: the same

A save writes the new version into the *other* slot, makes it durable (the barrier), then
flips the header byte and makes that durable. Whatever a power cut keeps, the header names a
complete slot: the old version until the header reaches the disk, the new one after. The first
save of a job builds the whole file the way ``base.py`` does (temp file, fsync, rename, directory
fsync). A header naming a damaged slot is an error: the other slot is never guessed at.

``slot_then_header.py`` is this store without the barrier.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from base import BaseStore, DamagedFile

HEADER_SIZE = 4096
SLOT_SIZE = 64 * 1024
SLOTS = {b"A": HEADER_SIZE, b"B": HEADER_SIZE + SLOT_SIZE}


def _slot_record(data: bytes) -> bytes:
    if len(data) + 9 > SLOT_SIZE:
        raise ValueError(f"a job of {len(data)} B does not fit a {SLOT_SIZE} B slot")
    return b"%08x\n" % len(data) + data


class SlotStore(BaseStore):
    """Two slots and a header per job file (see the module docstring)."""

    def paths_for(self, job_id: str) -> dict[str, Path]:
        """One file per job: the store keeps no backup copy."""
        return {"main": Path(self._main(job_id))}

    def _install(self, job_id: str, data: bytes) -> None:
        main = self._main(job_id)
        try:
            fd = os.open(main, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            whole = b"A".ljust(HEADER_SIZE, b"\0") + _slot_record(data)
            temp = self._write_temp(job_id, whole)
            os.replace(temp, main)
            self._fsync_directory()  # the new name survives a power cut before the save returns
            return
        try:
            target = b"B" if os.pread(fd, 1, 0) == b"A" else b"A"
            os.pwrite(fd, _slot_record(data), SLOTS[target])
            self._slot_barrier(fd)
            os.pwrite(fd, target, 0)
            os.fsync(fd)  # the header flip survives a power cut before the save returns
        finally:
            os.close(fd)

    def _slot_barrier(self, fd: int) -> None:
        """The slot is on the disk before the header names it (page writeback has no order)."""
        os.fsync(fd)

    def _read(self, path: str) -> dict[str, Any] | str:
        try:
            with open(path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return "missing"
        except OSError as error:
            return f"cannot be read: {error.strerror}"
        try:
            return self.decode(_slot_of(data))
        except (DamagedFile, ValueError) as damage:
            return f"is damaged: {damage}"


def _slot_of(data: bytes) -> bytes:
    """The record in the slot the header names; DamagedFile if there is none."""
    offset = SLOTS.get(data[:1])
    if offset is None:
        raise DamagedFile(f"the header names no slot ({data[:1]!r})")
    length_line = data[offset : offset + 9]
    if len(length_line) != 9 or not length_line.endswith(b"\n"):
        raise DamagedFile(f"slot {data[:1].decode()} is empty or cut short")
    length = int(length_line[:8], 16)
    record = data[offset + 9 : offset + 9 + length]
    if len(record) != length:
        raise DamagedFile(f"slot {data[:1].decode()} holds {len(record)} of {length} B")
    return record


def make_store(root: Path) -> SlotStore:
    return SlotStore(root)
