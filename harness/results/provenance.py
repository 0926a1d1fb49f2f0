"""Where a result came from: the machine and the commit, recorded in every report and trend line.

A leaf module (it imports nothing of the harness), so the suite, the benchmarks, the gate and the
trend log can all stamp their results without importing one another.

>>> sorted(machine_info())
['cpus', 'hostname', 'python', 'system']
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def current_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
