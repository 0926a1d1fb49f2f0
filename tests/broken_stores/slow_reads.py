"""Broken store: every ``get_job`` takes 5 ms more than it needs.

Defect: a read that does needless work (here a sleep; in real life a retry loop with sleeps on a
healthy file, a lock taken for reading, a fsync on the read path). Nothing is wrong with the
data, only with the time.

Caught by: ``performance_budget`` (the read budget: ``get`` p50 within 0.1 ms of a plain read),
in a latency scenario.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from base import BaseStore

DELAY = 0.005  # seconds


class SlowReads(BaseStore):
    def get_job(self, job_id: str) -> dict[str, Any] | None:
        time.sleep(DELAY)  # DEFECT: time spent for nothing on every read
        return super().get_job(job_id)


def make_store(root: Path) -> SlowReads:
    return SlowReads(root)
