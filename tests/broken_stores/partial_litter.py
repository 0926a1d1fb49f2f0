"""Broken store: ``<job>.json.<hex>.partial`` temp files that ``recover()`` never removes.

Defect: saves name their temp file ``j0.json.<hex>.partial`` instead of the base's
``.j0.json.<hex>.tmp``; ``recover()`` removes only the latter, so the file of a writer killed
mid-save stays. ``*.partial`` used to slip past the no-litter check.

Caught by: C8 (``no_litter``), with a worker killed mid-save (worker-kill).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from base import JOB_SUFFIX, BaseStore


class PartialLitter(BaseStore):
    def _temp_path(self, job_id: str) -> str:
        # DEFECT: a name recover() does not know
        return os.path.join(self.root, f"{job_id}{JOB_SUFFIX}.{secrets.token_hex(4)}.partial")


def make_store(root: Path) -> PartialLitter:
    return PartialLitter(root)
