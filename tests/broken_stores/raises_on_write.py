"""Broken store: ``save_job`` raises every 5th call of a process, with nothing wrong on disk.

Defect: a spurious failure (a bug in the write path: a resource it leaks, a race it loses) makes
a healthy write raise. A write may raise only when the disk really failed it.

Caught by: ``never_raises`` (a write raised with no disk fault injected).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base import BaseStore

EVERY = 5


class RaisesOnWrite(BaseStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.saves = 0

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        self.saves += 1
        if self.saves % EVERY == 0:  # DEFECT: fails a write the disk would have taken
            raise RuntimeError(f"save #{self.saves} of job {job_id!r} failed: internal state lost")
        super().save_job(job_id, job)


def make_store(root: Path) -> RaisesOnWrite:
    return RaisesOnWrite(root)
