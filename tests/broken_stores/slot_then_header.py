"""Broken store: a save writes the data slot, then the header naming it, with no barrier between.

Defect: ``slots.py`` without its fsync between the slot and the header. Both writes are in the
page cache until the final fsync, and the kernel writes pages back in any order: a power cut may
keep the header page and lose the slot page, and the header then names a slot that is empty or
holds an older version.

Caught by: ``crash_consistency`` (C6), power-loss scenario, only by the out-of-order page model
(writes persisting in the order they were made never show it).
"""

from __future__ import annotations

from pathlib import Path

from slots import SlotStore


class SlotThenHeader(SlotStore):
    def _slot_barrier(self, fd: int) -> None:
        pass  # DEFECT: the header may reach the disk before the slot it names


def make_store(root: Path) -> SlotThenHeader:
    return SlotThenHeader(root)
