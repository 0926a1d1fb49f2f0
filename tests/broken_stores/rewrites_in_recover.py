"""Broken store: ``recover()`` rewrites every job file in place, to normalise it.

Defect: the rewrite opens the job file with ``O_TRUNC`` and writes it again. It completes in
every restart the harness watches, so a single power cut never shows it; a second power cut
*during* ``recover()`` can keep the truncation and lose the rewrite, leaving an empty job file,
and the store then falls back to the backup: the version before the acknowledged one.

Caught by: ``crash_consistency`` (C6), power-loss scenario, only by the second power cut during
``recover()`` (``options.recover_cuts``).
"""

from __future__ import annotations

import os
from pathlib import Path

from base import JOB_SUFFIX, BaseStore


class RewritesInRecover(BaseStore):
    def recover(self) -> dict[str, list[str]]:
        report = super().recover()
        for name in sorted(os.listdir(self.root)):
            if not name.endswith(JOB_SUFFIX) or name.startswith("."):
                continue
            path = os.path.join(self.root, name)
            job = self._read(path)
            if isinstance(job, dict):
                with open(path, "wb") as file:  # DEFECT: in place, not temp file + rename
                    file.write(self.encode(job))
                    file.flush()
                    os.fsync(file.fileno())
        return report


def make_store(root: Path) -> RewritesInRecover:
    return RewritesInRecover(root)
