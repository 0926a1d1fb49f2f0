"""Broken store: a job larger than 256 KiB is saved without the tail of its payload.

Defect: ``save_job`` cuts the job's ``data`` string so the file stays under a size limit (a
column width, a buffer size), and writes what is left: still valid JSON with the right id and
tag, and a correct checksum of the shortened job. Nothing raises; the tail is simply gone.

Caught by: ``no_torn_read`` (*garbled*: the read carries the write's tag, but its digest, which
covers the whole payload, differs): C6.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base import BaseStore

LIMIT = 256 * 1024


class DropsLargeTails(BaseStore):
    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        data = job.get("data")
        if isinstance(data, str) and len(data) > LIMIT:
            job = dict(job, data=data[:LIMIT])  # DEFECT: the tail is dropped, silently
        super().save_job(job_id, job)


def make_store(root: Path) -> DropsLargeTails:
    return DropsLargeTails(root)
