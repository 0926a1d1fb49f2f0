"""Broken store: no checksum, so a bit-flipped job file is served as is.

Defect: job files are plain JSON. Damage that leaves valid JSON (one flipped digit) cannot be
told from a real job, so ``get_job`` returns content no writer wrote. Unparsable damage still
falls back to the backup, as in the base store.

Caught by: ``no_torn_read`` (a *garbled* read: a writer's tag with different content), under
bit-flip damage to job files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from base import BaseStore, DamagedFile


class Garbles(BaseStore):
    def encode(self, job: dict[str, Any]) -> bytes:
        return json.dumps(job, separators=(",", ":")).encode()  # DEFECT: nothing to check against

    def decode(self, data: bytes) -> dict[str, Any]:
        job = json.loads(data)
        if not isinstance(job, dict):
            raise DamagedFile(f"holds a {type(job).__name__}, not a job")
        return job


def make_store(root: Path) -> Garbles:
    return Garbles(root)
