"""Damage to job files, done the way real damage happens: in place, while the store runs.

======== ==============================================================================
truncate  cut the file at a random length (a write that never finished)
empty     truncate to 0 bytes (the "empty JSON file" of the incident)
garbage   overwrite every byte with random bytes, same length (a disk gone bad)
bitflip   flip the low bit of one digit: the file is *still valid JSON*, only a number
          changed (only a checksum can tell)
delete    remove the file (an operator's ``rm``, a lost directory entry)
======== ==============================================================================

Each function returns a description of what it did (for the history) or raises
``FileNotFoundError`` when there was no file to damage.
"""

from __future__ import annotations

import os
import random
from typing import Any

from harness.errors import HarnessError


class DamageSkipped(HarnessError):
    """The damage could not be applied to the file as it was at that moment (says why)."""


def damage_file(path: str, how: str, rng: random.Random) -> dict[str, Any]:
    """Apply damage ``how`` to ``path``; return what was done."""
    size = os.path.getsize(path)
    if how == "truncate":
        length = rng.randrange(1, size) if size > 1 else 0
        os.truncate(path, length)
        return {"how": how, "size": size, "length": length}
    if how == "empty":
        os.truncate(path, 0)
        return {"how": how, "size": size}
    if how == "garbage":
        fd = os.open(path, os.O_WRONLY)
        try:
            os.pwrite(fd, rng.randbytes(max(size, 16)), 0)
        finally:
            os.close(fd)
        return {"how": how, "size": size}
    if how == "bitflip":
        return _flip_digit(path, size, rng)
    if how == "delete":
        os.unlink(path)
        return {"how": how, "size": size}
    raise ValueError(f"unknown damage {how!r}")


def _flip_digit(path: str, size: int, rng: random.Random) -> dict[str, Any]:
    """Flip the lowest bit of a random ASCII digit ('4' <-> '5'): the JSON stays valid."""
    with open(path, "rb") as source:
        data = source.read()
    if not data:
        # Emptied between the stat and the read (a store that truncates in place): nothing to
        # flip, and damage that did not happen must not be recorded as applied.
        raise DamageSkipped("the file was empty when the bit flip read it")
    digits = [index for index, byte in enumerate(data) if 0x30 <= byte <= 0x39]
    if not digits:
        # No digit to flip: flip a bit of a letter instead ('a' <-> '`'); may break the JSON.
        digits = [index for index, byte in enumerate(data) if 0x61 <= byte <= 0x7A] or [0]
    offset = rng.choice(digits)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, bytes([data[offset] ^ 1]), offset)
    finally:
        os.close(fd)
    return {
        "how": "bitflip",
        "size": size,
        "offset": offset,
        "was": chr(data[offset]),
        "now": chr(data[offset] ^ 1),
    }
