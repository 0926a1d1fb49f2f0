"""Broken store: error dicts that name no cause.

Defect: when neither copy of a job can be read, ``get_job`` returns
``{"status": "unknown", "error": "error"}``: the operator learns nothing (which file, what
damage, what to do).

Caught by: ``clear_errors``, under damage to both copies of a job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base import BaseStore


class VagueErrors(BaseStore):
    def _fallback(self, job_id: str, main: str) -> dict[str, Any] | None:
        answer = super()._fallback(job_id, main)
        if isinstance(answer, dict) and answer.get("status") == "unknown":
            return {"id": job_id, "status": "unknown", "error": "error"}  # DEFECT: says nothing
        return answer


def make_store(root: Path) -> VagueErrors:
    return VagueErrors(root)
