"""Broken store: the factory raises on the 3rd opening of a store folder.

Defect: opening the store fails now and then (a connection limit, a lock file left behind): the
preflight and the first process open it fine, a later worker cannot, and its work never happens.

Caught by: C6, through ``never_raises``: a writer that could not open the store died before
saving anything it was given.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from base import BaseStore

FAIL_AT = 3
COUNTER = ".opens"


def make_store(root: Path) -> BaseStore:
    store = BaseStore(root)
    path = os.path.join(store.root, COUNTER)
    with open(path, "a+", encoding="ascii") as counter:
        fcntl.flock(counter, fcntl.LOCK_EX)  # processes open the store at once: count each once
        counter.seek(0)
        opens = len(counter.read()) + 1
        counter.write("x")
    if opens == FAIL_AT:
        raise RuntimeError("too many connections")  # DEFECT: a later process cannot open it
    return store
