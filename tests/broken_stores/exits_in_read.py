"""Broken store: ``get_job`` raises ``SystemExit`` when both copies of a job are damaged.

Defect: a "give up" path that calls ``sys.exit()`` instead of answering. ``SystemExit`` is not an
``Exception``: a handler catching ``Exception`` lets it through, and in a web server it takes the
worker down with the request that hit it.

Caught by: C2, through ``never_raises``: the read raised (and its process died during a read).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from base import BaseStore


class ExitsInRead(BaseStore):
    def get_job(self, job_id: str) -> dict[str, Any] | None:
        job = super().get_job(job_id)
        if isinstance(job, dict) and "no readable copy" in str(job.get("error", "")):
            sys.exit(f"job {job_id}: no readable copy")  # DEFECT: exits instead of answering
        return job


def make_store(root: Path) -> ExitsInRead:
    return ExitsInRead(root)
