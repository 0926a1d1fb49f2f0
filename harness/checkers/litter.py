"""No litter: no orphaned temp files are left in the store's directory after the restart.

A writer killed between creating its temp file and renaming it leaves the temp file behind;
``recover()`` must remove it (and must not remove a live writer's). The inventory the runner
takes at the very end of a run is judged: names that look temporary (``*.tmp``, ``*.tmp.*``,
``*~``, ``*.part``, ``*.swp``) are litter.
"""

from __future__ import annotations

import fnmatch

from harness.checkers import CheckResult, first_evidence, plural
from harness.history import History

TEMP_PATTERNS = ("*.tmp", "*.tmp.*", ".tmp*", "*~", "*.part", "*.swp", "*.temp")


def is_temp_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(base, pattern) for pattern in TEMP_PATTERNS)


def check_no_litter(history: History) -> CheckResult:
    inventory = history.first("inventory")
    if inventory is None or not isinstance(inventory.result, dict):
        return CheckResult("no_litter", None, "no inventory of the store directory in this history")
    files = inventory.result.get("files", [])
    litter = [f["path"] for f in files if is_temp_name(f["path"])]
    recover = history.first("recover")
    has_recover = recover is not None and not (
        isinstance(recover.value, dict) and recover.value.get("absent")
    )
    counts = {"files": len(files), "temp_files": len(litter)}
    if litter:
        why = "recover() left them" if has_recover else "the store has no recover() to remove them"
        return CheckResult(
            "no_litter",
            False,
            f"{plural(len(litter), 'orphaned temp file')} left after the restart ({why})",
            counts,
            first_evidence(litter),
        )
    return CheckResult(
        "no_litter", True, f"{plural(len(files), 'file')} in the store, no temp file left", counts
    )
