"""Broken store: it keeps a backup but never reads it.

Defect: saves rotate the previous version into ``.bak`` as the base store does, but ``get_job``
answers a damaged job file with an error dict (a clear one) and a missing job file with
``None``, although the backup holds the version before the damaged one.

Caught by: ``recovery_to_last_good`` (*backup_not_used*), under damage to job files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base import BaseStore


class NoBackupFallback(BaseStore):
    def _fallback(self, job_id: str, main: str) -> dict[str, Any] | None:
        if main == "missing":
            return None  # DEFECT: the backup is never consulted
        return {
            "id": job_id,
            "status": "unknown",
            "error": f"job file {main}; backup not consulted",
        }


def make_store(root: Path) -> NoBackupFallback:
    return NoBackupFallback(root)
