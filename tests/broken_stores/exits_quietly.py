"""Broken store: ``save_job`` ends its own process with ``os._exit(0)`` at the 30th save.

Defect: a store that exits "successfully" in the middle of a save (an error path that calls
``sys.exit()`` or ``os._exit``, as a C library's fatal handler might). Exit code 0 looks like a
clean end to anyone who only reads exit codes; the save in flight was never acknowledged and the
process's remaining work never happened.

Caught by: C6, through ``never_raises``: a process that ended before its work was done, by any
exit code, died by itself, and a death during a save is data loss.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from base import BaseStore

EXIT_AT = 30


class ExitsQuietly(BaseStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.saves = 0

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        self.saves += 1
        if self.saves == EXIT_AT:
            os._exit(0)  # DEFECT: the store ends the process, with a "success" exit code
        super().save_job(job_id, job)


def make_store(root: Path) -> ExitsQuietly:
    return ExitsQuietly(root)
