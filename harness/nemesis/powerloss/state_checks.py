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

import contextlib
import os
from pathlib import Path
from typing import Any

from harness.checkers.no_litter import is_declared, is_temp_name
from harness.nemesis.powerloss.operation_trace import is_ephemeral
from harness.outcomes import describe_error
from harness.payload import summarize_read
from harness.spec import store_files_report


def check_state(
    spec: Any, directory: Path, job: str, untouched: list[str], known: list[str] | None = None
) -> dict[str, Any]:
    """Open the store on one state as a restarting application would: recover, then read.

    With ``known`` (the names the store had before and after the operation), it then lists the
    files ``recover()`` left that are none of them (``litter``), and finally damages the job
    file and reads again, to see what its backup holds (``backup``; None if the store names no
    backup in ``paths_for`` or has no job file in this state).
    """
    try:
        store = spec.open(directory)
    except Exception as error:
        failure = {"kind": "raised", "error": f"opening the store raised {describe_error(error)}"}
        return {
            "read": failure,
            "recover_raised": None,
            "untouched": dict.fromkeys(untouched, failure),
        }
    try:
        recover_raised = None
        recover = getattr(store, "recover", None)
        if callable(recover):
            try:
                recover()
            except Exception as error:
                recover_raised = describe_error(error)
        result = {
            "read": _read(store, job),
            "recover_raised": recover_raised,
            "untouched": {other: _read(store, other) for other in untouched},
        }
        if known is not None:
            owned = store_files_report(store, directory, ()).get("owned", [])
            result["litter"] = _litter(directory, set(known), owned)
            result["backup"] = _read_backup(store, directory, job)
        return result
    finally:
        close_store(store)


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


def _read_backup(store: Any, directory: Path, job: str) -> dict[str, Any] | None:
    """Damage the job file (garbage, same length) and read the job again: the backup answers."""
    paths_for = getattr(store, "paths_for", None)
    if not callable(paths_for):
        return None
    try:
        paths = paths_for(job)
        main = Path(paths["main"])
        if "backup" not in paths or not main.is_file():
            return None
        size = main.stat().st_size
        with open(main, "r+b") as file:  # in place, as a disk gone bad damages it
            file.write(b"#" * max(size, 16))
    except Exception:  # a store whose paths_for fails is judged elsewhere (the damage scenarios)
        return None
    return _read(store, job)


def _read(store: Any, job: str) -> dict[str, Any]:
    try:
        return summarize_read(store.get_job(job))
    except Exception as error:
        return {"kind": "raised", "error": describe_error(error)}


def close_store(store: Any) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):  # closing is not under test
            close()
