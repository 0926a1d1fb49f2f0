"""Broken store: ``save_job`` kills its own process at the 5th save.

Defect: the store crashes the application (a C extension's segfault, an ``os._exit`` in an
error path): here a ``SIGKILL`` to itself, in the middle of a save, that no nemesis sent.

Caught by: ``never_raises``, which reports a process that "died by itself".
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from base import BaseStore

DIE_AT = 5


class KillsItself(BaseStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.saves = 0

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        self.saves += 1
        if self.saves == DIE_AT:
            os.kill(os.getpid(), signal.SIGKILL)  # DEFECT: the store takes the process down
        super().save_job(job_id, job)


def make_store(root: Path) -> KillsItself:
    return KillsItself(root)
