"""Broken store: ``update_job`` is a read-modify-write without a lock.

Defect: what the incident's application did. Two processes read the same version, each sets its
own field, each saves: the second save wipes the first one's field. (Each save is still atomic
and locked; only the read and the write are not done under one lock.)

Caught by: ``no_lost_update`` with several updaters changing different fields of one job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base import BaseStore


class UnlockedUpdates(BaseStore):
    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        job = self.get_job(job_id)  # DEFECT: another update can land between this read ...
        if job is None or job.get("status") == "unknown":
            raise LookupError(f"job {job_id!r} cannot be updated: it is missing or unreadable")
        job = dict(job)
        job.update(changes)
        self.save_job(job_id, job)  # ... and this write, and is overwritten by it
        return job


def make_store(root: Path) -> UnlockedUpdates:
    return UnlockedUpdates(root)
