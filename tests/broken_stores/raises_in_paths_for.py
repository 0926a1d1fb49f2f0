"""Broken store: ``paths_for`` raises for every job, while saves and reads are correct.

Defect: ``paths_for`` still reads the folder attribute of an older version of the store
(``self.folder``, since renamed ``self.root``), so every call raises ``AttributeError``. The
job files are where the incident's layout would guess (``<root>/<id>.json`` and ``.bak``), which
is what makes the defect dangerous: a harness that fell back to that guess would damage files
the store never said were its jobs', and could pass it on evidence it never gave.

Caught by: the setup report (``setup.json``), which records ``paths_error``,
``AttributeError: ... (paths_for('j0'))``, and no paths or layout for any job; power loss judges
no backup on it, and damages no file (``tests/test_store_handle.py``).
"""

from __future__ import annotations

from pathlib import Path

from base import BaseStore


class RaisesInPathsFor(BaseStore):
    def paths_for(self, job_id: str) -> dict[str, Path]:
        folder = Path(self.folder)  # type: ignore[attr-defined]  # DEFECT: the old attribute name
        return {"main": folder / f"{job_id}.json", "backup": folder / f"{job_id}.json.bak"}


def make_store(root: Path) -> RaisesInPathsFor:
    return RaisesInPathsFor(root)
