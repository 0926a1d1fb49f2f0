"""The inventory: every file under the store's folder, for the no-litter check (C8).

Taken at the end of setup (what was already there is not the run's litter) and after the restart.
The full-disk fault's filler file is the nemesis's, not the store's, and is left out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.nemesis.disk import FILLER_NAME


def list_files(root: Path) -> list[dict[str, Any]]:
    """Every file under ``root`` (the filler aside), with its size (-1 if it vanished)."""
    files = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if name == FILLER_NAME:
                continue
            try:
                size = path.stat().st_size
            except OSError:
                size = -1
            files.append({"path": path.relative_to(root).as_posix(), "size": size})
    return sorted(files, key=lambda f: f["path"])
