"""Broken store: ``get_job`` hangs forever from the 20th call of a process on.

Defect: a read that never returns (a lock never released, a network mount that never answers).
The caller's request hangs; nothing raises.

Caught by: the runner, which kills a process still busy ``OP_TIMEOUT`` seconds after its phase
ended and records its operation as timed out; ``never_raises`` then reports the hung call.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from base import BaseStore

HANG_AT = 20


class Hangs(BaseStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads = 0

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        self.reads += 1
        if self.reads >= HANG_AT:
            threading.Event().wait()  # DEFECT: waits for an event nobody will ever set
        return super().get_job(job_id)


def make_store(root: Path) -> Hangs:
    return Hangs(root)
