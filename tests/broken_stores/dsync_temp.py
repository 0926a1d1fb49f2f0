"""Control (correct, unusual): the temp file is opened ``O_DSYNC`` instead of being fsynced.

Every ``write`` to an ``O_DSYNC`` descriptor returns only once its data (and the size needed
to read it back) is on the disk, so the temp file is complete before it is renamed without any
``fsync`` of the file. The directory is still fsynced after the renames: ``O_DSYNC`` says
nothing about the names. The power-loss model must pass it (a false alarm otherwise).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from base import JOB_SUFFIX, TEMP_SUFFIX, BaseStore


class DsyncTempStore(BaseStore):
    def _write_temp(self, job_id: str, data: bytes) -> str:
        temp = os.path.join(self.root, f".{job_id}{JOB_SUFFIX}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        # O_DSYNC: each write is durable when it returns, which replaces the fsync of base.py.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_DSYNC
        fd = os.open(temp, flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        os.close(fd)
        return temp


def make_store(root: Path) -> DsyncTempStore:
    return DsyncTempStore(root)
