"""Broken store: the directory is fsynced by a background thread, after ``save_job`` returned.

Defect: a "group commit" flusher fsyncs the store directory about 50 ms after a save, so the
renames that publish the new version are not durable when the save is acknowledged. A power
cut in that window brings the previous version back (or none, for a first save).

Caught by: ``crash_consistency`` (C6), *acknowledged write lost*, power-loss scenario: the
acknowledgement is the moment the call returned; the flusher's fsync comes after it.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from base import BaseStore

FLUSH_DELAY = 0.05  # seconds the flusher waits to batch the directory fsyncs of several saves


class BackgroundFsyncStore(BaseStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._dirty = threading.Event()
        self._flusher = threading.Thread(target=self._flush, name="flusher", daemon=True)
        self._flusher.start()

    def _fsync_directory(self) -> None:
        self._dirty.set()  # DEFECT: the directory fsync is left to the flusher, after returning

    def _flush(self) -> None:
        while True:
            self._dirty.wait()
            time.sleep(FLUSH_DELAY)  # batch the saves of the next few milliseconds
            self._dirty.clear()
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def make_store(root: Path) -> BackgroundFsyncStore:
    return BackgroundFsyncStore(root)
