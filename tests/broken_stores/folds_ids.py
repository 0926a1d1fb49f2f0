"""Broken store: job ids are folded to one spelling before they become file names.

Defect: ``_main`` and ``_backup`` lower-case the id and map ``-`` and ``.`` to ``_`` (a "safe
file name" helper, or a case-insensitive key), so ``ab-c``, ``ab_c``, ``Ab-c`` and ``AB_C``
share one file: saving one overwrites the others.

Caught by: ``no_torn_read`` (*foreign*: a read of ``ab-c`` returns a job written to ``ab_c``)
and ``acknowledged_writes_survive``: C6 (the harness's ids include such a collision group).
"""

from __future__ import annotations

import os
from pathlib import Path

from base import BACKUP_SUFFIX, JOB_SUFFIX, BaseStore


def _fold(job_id: str) -> str:
    return job_id.lower().replace("-", "_").replace(".", "_")


class FoldsIds(BaseStore):
    def _main(self, job_id: str) -> str:
        return os.path.join(self.root, _fold(job_id) + JOB_SUFFIX)  # DEFECT: ids share files

    def _backup(self, job_id: str) -> str:
        return os.path.join(self.root, _fold(job_id) + BACKUP_SUFFIX)  # DEFECT (same fold)


def make_store(root: Path) -> FoldsIds:
    return FoldsIds(root)
