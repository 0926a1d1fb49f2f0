"""Broken store: the backup is made once, at the second save, and never refreshed.

Defect: the job file is rotated into ``.bak`` only while no backup exists, so the backup keeps
the job's first version forever. After damage to the job file, the store falls back to that
first version: much older than the version before the damaged one.

Caught by: ``recovery_to_last_good`` (*older_than_backup*), under damage to job files while
writers keep saving.
"""

from __future__ import annotations

import os
from pathlib import Path

from base import BaseStore


class OldBackup(BaseStore):
    def _install(self, job_id: str, data: bytes) -> None:
        main, backup = self._main(job_id), self._backup(job_id)
        temp = self._write_temp(job_id, data)
        if not os.path.exists(backup) and isinstance(self._read(main), dict):
            os.replace(main, backup)  # DEFECT: only the first version ever becomes the backup
        os.replace(temp, main)
        self._fsync_directory()


def make_store(root: Path) -> OldBackup:
    return OldBackup(root)
