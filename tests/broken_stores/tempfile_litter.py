"""Broken store: temp files made by ``tempfile.mkstemp`` that ``recover()`` never removes.

Defect: saves write their temp file with ``tempfile.mkstemp(dir=root)`` (names like
``tmpk3j_x9q2``), but ``recover()`` still looks for the base's ``.<job>.json.<hex>.tmp`` names:
the temp file of a writer killed mid-save stays forever. Names with no ``.tmp`` in them used to
slip past the no-litter check.

Caught by: C8 (``no_litter``), with a worker killed mid-save (worker-kill).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from base import BaseStore


class TempfileLitter(BaseStore):
    def _write_temp(self, job_id: str, data: bytes) -> str:
        fd, temp = tempfile.mkstemp(dir=self.root)  # DEFECT: a name recover() does not know
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        os.close(fd)
        return temp


def make_store(root: Path) -> TempfileLitter:
    return TempfileLitter(root)
