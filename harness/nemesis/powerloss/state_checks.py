"""Checking one crash state: open the store on it, as an application restarting after the cut.

:func:`check_state` runs in a checking process (see :mod:`harness.nemesis.powerloss.check_pool`)
on one materialized state directory and answers what the store made of it::

    {"read": {"kind": "job", "tag": ["powerloss", 2], ...},   get_job of the job traced
     "recover_raised": None,                                  recover() raised? (its error)
     "untouched": {"j1": {...}},                              get_job of each bystander
     "litter": [],                                            files nobody had (see below)
     "backup": {"kind": "job", ...}}                          get_job once the job file is damaged

which :mod:`harness.checkers.crash_consistency` and its neighbours judge. The store is opened,
``recover()`` called if it has one, the jobs read; then the files left that the store had neither
before nor after the traced operation are listed (litter), and finally the job file is damaged in
place and the job read again, to see what the backup gives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.checkers.no_litter import is_declared, is_temp_name
from harness.history.outcomes import describe_error
from harness.nemesis.powerloss.operation_trace import is_ephemeral
from harness.store.handle import StoreHandle
from harness.store.spec import StorePathsError, StoreSpec
from harness.workload.payload import summarize_read


def check_state(
    spec: StoreSpec,
    directory: Path,
    job: str,
    untouched: list[str],
    known: list[str] | None = None,
) -> dict[str, Any]:
    """Open the store on one state as a restarting application would: recover, then read.

    With ``known`` (the names the store had before and after the operation), it then lists the
    files ``recover()`` left that are none of them (``litter``), and finally damages the job
    file and reads again, to see what its backup holds (``backup``; None if the store names no
    backup in ``paths_for`` or has no job file in this state).
    """
    try:
        handle = StoreHandle.open(spec, directory)
    except Exception as error:
        failure = {"kind": "raised", "error": f"opening the store raised {describe_error(error)}"}
        return {
            "read": failure,
            "recover_raised": None,
            "untouched": dict.fromkeys(untouched, failure),
        }
    with handle:
        recover_raised = None
        if handle.has("recover"):
            try:
                handle.recover()
            except Exception as error:
                recover_raised = describe_error(error)
        result = {
            "read": _read(handle, job),
            "recover_raised": recover_raised,
            "untouched": {other: _read(handle, other) for other in untouched},
        }
        if known is not None:
            owned = handle.files_report(()).get("owned", [])
            result["litter"] = _litter(directory, set(known), owned)
            result["backup"] = _read_backup(handle, job)
        return result


def _litter(directory: Path, known: set[str], owned: list[str]) -> list[str]:
    """Files in ``directory`` that the store had neither before nor after the operation.

    A file the store declares as its own (``owned_paths()``: a lock folder, a rollback journal
    SQLite leaves after a cut until its next write) is no litter, unless its name looks
    temporary: the same rule as the no-litter check's (:mod:`harness.checkers.no_litter`).
    """
    found = []
    for current, _, filenames in os.walk(directory):
        for name in filenames:
            rel = os.path.relpath(os.path.join(current, name), directory)
            if rel in known or is_ephemeral(rel):
                continue
            if is_declared(rel, owned) and not is_temp_name(rel):
                continue
            found.append(rel)
    return sorted(found)


def _read_backup(handle: StoreHandle, job: str) -> dict[str, Any] | None:
    """Damage the job file (garbage, same length) and read the job again: the backup answers.

    Only a file the store names is damaged: without ``paths_for``, or when it raises (which the
    setup report records and the damage scenarios answer for), the backup is not judged here,
    rather than judged on a guessed file.
    """
    if not handle.has("paths_for"):
        return None
    try:
        paths = handle.paths_for(job)
    except StorePathsError:
        return None
    main = paths.get("main")
    if main is None or "backup" not in paths or not main.is_file():
        return None
    try:
        size = main.stat().st_size
        with open(main, "r+b") as file:  # in place, as a disk gone bad damages it
            file.write(b"#" * max(size, 16))
    except OSError:  # the file went away or cannot be written: no damage, no verdict
        return None
    return _read(handle, job)


def _read(handle: StoreHandle, job: str) -> dict[str, Any]:
    try:
        return summarize_read(handle.store.get_job(job))
    except Exception as error:
        return {"kind": "raised", "error": describe_error(error)}
