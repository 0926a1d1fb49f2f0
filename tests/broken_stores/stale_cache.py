"""Broken store: reads are cached in the process for a while.

Defect: ``get_job`` keeps what it read for ``TTL`` seconds and serves it again, without looking
at the disk. Another process's save, acknowledged meanwhile, is invisible: a reader gets an
older version than one already acknowledged (a poller that shows "running" after "done").

Caught by: ``acknowledged_writes_survive`` (a *stale* read) with writers and readers in
different processes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from base import BaseStore

TTL = 0.05  # seconds


class StaleCache(BaseStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        now = time.monotonic()
        cached = self.cache.get(job_id)
        if cached is not None and now - cached[0] < TTL:
            return cached[1]  # DEFECT: another process may have saved a newer version since
        job = super().get_job(job_id)
        self.cache[job_id] = (now, job)
        return job


def make_store(root: Path) -> StaleCache:
    return StaleCache(root)
