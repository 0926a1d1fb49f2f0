"""Broken store: "please try again later" for a job whose every copy is damaged.

Defect: when neither the job file nor the backup can be read, ``get_job`` answers
``"Could not load this job right now, please try again later"``: it names neither the job nor
the damage, and sends the user to retry a failure that no retry can fix.

Caught by: C5 (``clear_errors``), with both copies of a job damaged (damage-both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base import BaseStore


class RetryLaterErrors(BaseStore):
    def _fallback(self, job_id: str, main: str) -> dict[str, Any] | None:
        answer = super()._fallback(job_id, main)
        if isinstance(answer, dict) and answer.get("status") == "unknown":
            message = "Could not load this job right now, please try again later"  # DEFECT
            return {"id": job_id, "status": "unknown", "error": message}
        return answer


def make_store(root: Path) -> RetryLaterErrors:
    return RetryLaterErrors(root)
