"""Broken store: saves overwrite the job file in place, in two halves.

Defect: no temp file and no rename. A save writes the first half of the new version over the
old one, pauses (a slow disk, a preempted process), then writes the second half, so a reader
in between gets the new beginning glued to the old end, and a writer killed in between leaves
that mix for good. Like the naive design, it trusts what it reads (plain JSON, no checksum):
with versions of equal length the mix is still valid JSON.

Caught by: ``no_torn_read`` (garbled, foreign or invalid reads) with writers and readers
running concurrently.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from base import BaseStore, DamagedFile

PAUSE = 0.002  # seconds between the two halves: the window a reader falls into


class TornWrites(BaseStore):
    def encode(self, job: dict[str, Any]) -> bytes:
        return json.dumps(job, separators=(",", ":")).encode()

    def decode(self, data: bytes) -> dict[str, Any]:
        job = json.loads(data)
        if not isinstance(job, dict):
            raise DamagedFile(f"holds a {type(job).__name__}, not a job")
        return job

    def _install(self, job_id: str, data: bytes) -> None:
        # DEFECT: in place, in two steps, with nothing to make the replacement atomic.
        fd = os.open(self._main(job_id), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            half = len(data) // 2
            os.pwrite(fd, data[:half], 0)
            time.sleep(PAUSE)
            os.pwrite(fd, data[half:], half)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        finally:
            os.close(fd)


def make_store(root: Path) -> TornWrites:
    return TornWrites(root)
