"""No litter: after the restart, the store's folder holds only what the store means to keep.

A writer killed between creating its temp file and renaming it leaves the temp file behind;
``recover()`` must remove it (and must not remove a live writer's). The inventory the runner
takes at the very end of a run is judged against what the store says is its own, file by file:

1. a job's current file or its backup (``paths_for(job_id)``, or the incident's layout
   ``<id>.json`` / ``<id>.json.bak``, recorded at setup as ``layout``) is kept;
2. a name that looks temporary is litter, whatever else is said about it: ``*.tmp``,
   Python's ``tempfile`` names (``tmpk3j_x9q2``), ``*.partial``, ``*.part``, ``.#*``, ``*~``,
   ``*.swp``... (a store cannot declare its way out of a leftover temp file);
3. a file the store declares as its own (``owned_paths()``: a lock folder, a WAL, one log
   holding every job) is kept;
4. a file that was already there at the end of setup is kept (it did not appear during the run);
5. anything else appeared during the run and belongs to nobody: litter, whatever its name.

Histories recorded before the setup snapshot existed carry no ``layout`` or ``files``: only
rule 2 can be applied to them, and the summary says so.

>>> is_temp_name("tmpk3j_x9q2"), is_temp_name("j0.json.partial"), is_temp_name("jobs.log")
(True, True, False)
>>> is_declared(".locks/07.lock", [".locks/"]), is_declared("jobs.db-wal", ["jobs.db-*"])
(True, True)
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.log import History

TEMP_PATTERNS = (
    "*.tmp",
    "*.tmp.*",
    ".tmp*",
    "*~",
    ".#*",
    "#*#",
    "*.part",
    "*.partial",
    "*.swp",
    "*.temp",
)
# tempfile.mkstemp / NamedTemporaryFile: "tmp" and 8 characters of [a-z0-9_], then any suffix.
TEMPFILE_NAME = re.compile(r"^tmp[a-z0-9_]{8}")
# A declared pattern made of wildcards alone would own every file: it is ignored.
ONLY_WILDCARDS = re.compile(r"^[*?/.\[\]]*$")


def is_temp_name(name: str) -> bool:
    """Whether the file's base name looks like a temp file (rule 2)."""
    base = name.rsplit("/", 1)[-1]
    return bool(TEMPFILE_NAME.match(base)) or any(
        fnmatch.fnmatchcase(base, pattern) for pattern in TEMP_PATTERNS
    )


def is_declared(path: str, patterns: list[str]) -> bool:
    """Whether ``path`` (relative to the root) matches a declared path, glob or folder."""
    for pattern in patterns:
        if ONLY_WILDCARDS.match(pattern):
            continue
        folder = pattern.rstrip("/")
        if fnmatch.fnmatchcase(path, pattern) or path.startswith(folder + "/"):
            return True
    return False


def check_no_litter(history: History) -> CheckResult:
    inventory = history.first("inventory")
    if inventory is None or not isinstance(inventory.result, dict):
        return CheckResult("no_litter", None, "no inventory of the store directory in this history")
    files = [f["path"] for f in inventory.result.get("files", [])]
    setup = history.first("setup")
    known = setup.result if setup is not None and isinstance(setup.result, dict) else {}
    job_files = {path for job in known.get("layout", {}).values() for path in job.values()}
    owned = [str(pattern) for pattern in known.get("owned") or []]
    before = set(known["files"]) if "files" in known else None
    litter: list[str] = []
    temp = unclaimed = 0
    for path in files:
        if path in job_files:
            continue
        if is_temp_name(path):
            temp += 1
            litter.append(path)  # the name says what it is
        elif before is not None and path not in before and not is_declared(path, owned):
            unclaimed += 1
            litter.append(
                f"{path} (appeared during the run; not a job's file or backup, "
                "not declared by owned_paths())"
            )
    counts = {
        "files": len(files),
        "litter": len(litter),
        "temp_files": temp,
        "undeclared_files": unclaimed,
        "declared_patterns": len(owned),
    }
    notes = _notes(known, owned, before)
    if litter:
        return CheckResult(
            "no_litter",
            False,
            f"{plural(len(litter), 'leftover file')} after the restart ({_why(history)})" + notes,
            counts,
            **evidence_fields(litter),
        )
    return CheckResult(
        "no_litter",
        True,
        f"{plural(len(files), 'file')} in the store, each a job's file, declared by the store, "
        "or there before the run" + notes,
        counts,
    )


def _why(history: History) -> str:
    recover = history.first("recover")
    absent = recover is None or (isinstance(recover.value, dict) and recover.value.get("absent"))
    return "the store has no recover() to remove them" if absent else "recover() left them"


def _notes(known: dict[str, Any], owned: list[str], before: set[str] | None) -> str:
    notes = []
    if before is None:
        notes.append("no setup snapshot in this history: only temp-looking names were judged")
    ignored = [pattern for pattern in owned if ONLY_WILDCARDS.match(pattern)]
    if ignored:
        notes.append(f"declared patterns {ignored} ignored: they would own every file")
    if known.get("owned_error"):
        notes.append(str(known["owned_error"]))
    return "".join(f"; {note}" for note in notes)
