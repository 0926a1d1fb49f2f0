"""Broken store: ``recover()`` fails abandoned jobs but leaves temp files behind.

Defect: the temp file of a save killed before its rename is never removed; restarts pile them
up until the disk is full.

Caught by: ``no_litter``, with writers or workers killed mid-save.
"""

from __future__ import annotations

from pathlib import Path

from base import BaseStore


class LeavesLitter(BaseStore):
    def recover(self) -> dict[str, list[str]]:
        return {"jobs_failed": self._fail_abandoned()}  # DEFECT: temp files are not removed


def make_store(root: Path) -> LeavesLitter:
    return LeavesLitter(root)
