"""Broken store: the first save of a job does not fsync the directory.

Defect: the directory fsync is skipped when the job had no file yet ("nothing to lose"). But the
new name is what a power cut loses: the first save is acknowledged, and after the cut the job
does not exist. Saves over an existing job are correct, so a power-loss test that only traces
those (the ``power-loss`` scenario) never sees it.

Caught by: ``crash_consistency`` (C6), *job none* / *acknowledged write lost*, only by the
multi-operation workloads (``power-loss-sequences``), whose sequences start with a first save.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from base import BaseStore


class FirstSaveUnsynced(BaseStore):
    def _install(self, job_id: str, data: bytes) -> None:
        main = self._main(job_id)
        existed = os.path.exists(main)
        temp = self._write_temp(job_id, data)
        try:
            if isinstance(self._read(main), dict):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(main, self._backup(job_id))
            os.replace(temp, main)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        if existed:  # DEFECT: a first save's new name is left unsynced
            self._fsync_directory()


def make_store(root: Path) -> FirstSaveUnsynced:
    return FirstSaveUnsynced(root)
