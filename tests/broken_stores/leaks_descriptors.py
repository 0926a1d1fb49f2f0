"""Broken store: every save opens the job file once more and never closes it.

Defect: ``save_job`` opens the saved file (to "verify" it, say) and forgets to close the
descriptor: a raw ``os.open``, so no garbage collector closes it either. Under the harness's
open-files limit (256) the process runs out of descriptors within a run; a service would after
days, then every ``open`` fails with ``EMFILE``.

Caught by: ``no_descriptor_leak`` (the count grows with the saves): C2 and C6.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from base import BaseStore


class LeaksDescriptors(BaseStore):
    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        super().save_job(job_id, job)
        os.open(self._main(job_id), os.O_RDONLY)  # DEFECT: never closed


def make_store(root: Path) -> LeaksDescriptors:
    return LeaksDescriptors(root)
