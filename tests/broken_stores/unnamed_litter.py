"""Broken store: in-progress files with a name no temp-file pattern knows, never removed.

Defect: saves name their temp file ``j0.json.incoming-<hex>`` (no ``tmp``, no ``~``, no
``.part``); ``recover()`` removes only the base's ``.<job>.json.<hex>.tmp`` names, so the file
of a writer killed mid-save stays. Only the rule "a file that appeared during the run and that
the store neither uses for a job nor declares is litter" can see it.

Caught by: C8 (``no_litter``), with a worker killed mid-save (worker-kill).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from base import JOB_SUFFIX, BaseStore


class UnnamedLitter(BaseStore):
    def _temp_path(self, job_id: str) -> str:
        # DEFECT: a name recover() does not know
        return os.path.join(self.root, f"{job_id}{JOB_SUFFIX}.incoming-{secrets.token_hex(4)}")


def make_store(root: Path) -> UnnamedLitter:
    return UnnamedLitter(root)
