"""Stores the power-loss model cannot follow: each makes the power-loss scenario *unknown*.

Each factory is ``base.py`` with its save done through one call the model does not replay (it
would have to guess what a power cut leaves, so it says so instead of judging):

=====================  ===================================================================
``make_mmap_store``     the temp file is written through a shared writable ``mmap``
``make_tmpfile_store``  the temp file is an unnamed ``O_TMPFILE``, given its name by ``linkat``
``make_exchange_store`` the new version is swapped in with ``renameat2(RENAME_EXCHANGE)``
``make_symlink_store``  the job file is a symbolic link, swapped to each new version
=====================  ===================================================================

None of them is wrong as a store (each fsyncs what it must); the harness simply cannot see
what they do. Usable as ``--store tests/broken_stores/untraceable.py:make_mmap_store``.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import secrets
from pathlib import Path

from base import JOB_SUFFIX, TEMP_SUFFIX, BaseStore

AT_FDCWD = -100
RENAME_EXCHANGE = 2


class MmapStore(BaseStore):
    def _write_temp(self, job_id: str, data: bytes) -> str:
        temp = self._temp_name(job_id)
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            os.ftruncate(fd, len(data))
            with mmap.mmap(fd, len(data)) as mapping:  # MAP_SHARED, PROT_READ|PROT_WRITE
                mapping[:] = data
                mapping.flush()  # msync
            os.fsync(fd)
        finally:
            os.close(fd)
        return temp

    def _temp_name(self, job_id: str) -> str:
        return os.path.join(self.root, f".{job_id}{JOB_SUFFIX}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


class TmpfileStore(MmapStore):
    def _write_temp(self, job_id: str, data: bytes) -> str:
        temp = self._temp_name(job_id)
        fd = os.open(self.root, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
            # linkat(AT_SYMLINK_FOLLOW) of the descriptor's /proc link gives the file its name
            # (os.link calls link(2), which does not follow that link, unless a dir_fd is given).
            top = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.link(f"/proc/self/fd/{fd}", temp, src_dir_fd=top, follow_symlinks=True)
            finally:
                os.close(top)
        finally:
            os.close(fd)
        return temp


class ExchangeStore(BaseStore):
    def _install(self, job_id: str, data: bytes) -> None:
        main = self._main(job_id)
        temp = self._write_temp(job_id, data)
        if not os.path.exists(main):
            os.replace(temp, main)
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.renameat2(AT_FDCWD, temp.encode(), AT_FDCWD, main.encode(), RENAME_EXCHANGE):
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), main)
            os.replace(temp, self._backup(job_id))  # the temp name now holds the old version
        self._fsync_directory()


class SymlinkStore(BaseStore):
    def _install(self, job_id: str, data: bytes) -> None:
        version = self._write_temp(job_id, data)[: -len(TEMP_SUFFIX)] + ".v"
        os.replace(version[:-2] + TEMP_SUFFIX, version)
        link = version + ".link"
        os.symlink(os.path.basename(version), link)
        main = self._main(job_id)
        old = os.path.realpath(main) if os.path.islink(main) else None
        os.replace(link, main)  # the swap: the job's name now reaches the new file
        self._fsync_directory()
        if old is not None:
            os.unlink(old)


def make_mmap_store(root: Path) -> MmapStore:
    return MmapStore(root)


def make_tmpfile_store(root: Path) -> TmpfileStore:
    return TmpfileStore(root)


def make_exchange_store(root: Path) -> ExchangeStore:
    return ExchangeStore(root)


def make_symlink_store(root: Path) -> SymlinkStore:
    return SymlinkStore(root)
