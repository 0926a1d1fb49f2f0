"""Broken store: the base store without ``recover()``.

Defect: nothing runs at start-up, so a job whose worker was killed stays ``running`` forever
(the incident's first complaint), and the temp file of a save killed before its rename stays in
the directory forever.

Caught by: ``terminal_state`` (a job left running after the restart) and ``no_litter`` (the
orphaned temp file), with workers killed mid-save.
"""

from __future__ import annotations

from pathlib import Path

from base import BaseStore


class NoRecover(BaseStore):
    recover = None  # DEFECT: the harness sees no callable recover(), as for the incident's store


def make_store(root: Path) -> NoRecover:
    return NoRecover(root)
