"""Broken store: a checksum mismatch on a file that still parses is waited out for 300 ms.

Defect: the incident's retry loop in a new place. When a job file's checksum fails but its body is
still valid JSON (a flipped digit), the store takes it for a save in progress and waits 300 ms
before giving up and falling back to the backup. The answer is right, only late: a reader of a
damaged job waits 300 ms, over the incident's corruption budget of +250 ms. A truncated, emptied or
deleted file never parses, so a budget timed on truncation alone (as the harness once was)
never sees it.

Caught by: ``performance_budget``, the corruption budget (P3: the p99 of ``get_job`` on a
damaged file over every damage kind), in a latency scenario.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from base import BaseStore, DamagedFile

RETRY_WAIT = 0.300  # seconds; the budget allows 250 ms above a plain read


class SlowOnChecksum(BaseStore):
    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            return super().decode(data)
        except DamagedFile:
            if _parses(data.partition(b"\n")[2]):
                time.sleep(RETRY_WAIT)  # DEFECT: waits for a save that is not coming
            raise


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def make_store(root: Path) -> SlowOnChecksum:
    return SlowOnChecksum(root)
