"""Broken store: every 5th save of a process is acknowledged but never written.

Defect: the save returns normally without touching the disk (a write-behind buffer that is
never flushed, an error swallowed). The previous version stays in place, older than a write the
caller was told is durable.

Caught by: ``acknowledged_writes_survive`` (stale reads, and stale final reads when the last
save of a job is the forgotten one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base import BaseStore

EVERY = 5


class ForgetsWrites(BaseStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.saves = 0

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        self.saves += 1
        if self.saves % EVERY == 0:
            return  # DEFECT: acknowledged, never written
        super().save_job(job_id, job)


def make_store(root: Path) -> ForgetsWrites:
    return ForgetsWrites(root)
