"""Broken store: ``recover()`` never returns when it finds a job to fail.

Defect: a start-up recovery that waits forever (for a lock an abandoned job's owner never
releases, say). The application never finishes starting; the jobs stay where they were.

Caught by: C1 and C3, through ``never_raises``: the runner kills the restart process as hung.
"""

from __future__ import annotations

import threading
from pathlib import Path

from base import BaseStore


class RecoverHangs(BaseStore):
    def recover(self) -> dict[str, list[str]]:
        found = super().recover()
        if found["jobs_failed"]:
            threading.Event().wait()  # DEFECT: waits for an event nobody will ever set
        return found


def make_store(root: Path) -> RecoverHangs:
    return RecoverHangs(root)
