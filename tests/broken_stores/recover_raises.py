"""Broken store: ``recover()`` does its work, then raises when there was work to do.

Defect: a start-up recovery that cleans up and then trips on its own report (here a
``RuntimeError`` after the jobs were failed and the temp files removed). The application's
start-up sees an exception: it either crashes or skips whatever it does after recovery, and
nobody can tell which jobs were ended. On a clean store it returns, so the preflight (which
recovers an empty store) lets it through: only a run with something to recover finds it.

Caught by: C1 and C3, through ``never_raises``: recovery is what ends abandoned jobs, and a
recovery that raised did not finish.
"""

from __future__ import annotations

from pathlib import Path

from base import BaseStore


class RecoverRaises(BaseStore):
    def recover(self) -> dict[str, list[str]]:
        found = super().recover()
        if found["jobs_failed"] or found["temp_files_removed"]:
            raise RuntimeError("recovery report could not be written")  # DEFECT: raises after work
        return found


def make_store(root: Path) -> RecoverRaises:
    return RecoverRaises(root)
