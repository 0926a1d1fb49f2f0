"""Broken store: ``get_job`` raises on a damaged job file.

Defect: the job file is decoded without a safety net: a checksum mismatch, a truncated or
garbage file makes ``get_job`` raise (what became HTTP 500 in the incident) instead of
falling back to the backup.

Caught by: ``never_raises`` (``get_job`` raised), under damage to job files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base import BaseStore


class RaisesOnDamage(BaseStore):
    def get_job(self, job_id: str) -> dict[str, Any] | None:
        try:
            with open(self._main(job_id), "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return self._fallback(job_id, "missing")
        return self.decode(data)  # DEFECT: DamagedFile or JSONDecodeError escapes to the caller


def make_store(root: Path) -> RaisesOnDamage:
    return RaisesOnDamage(root)
