"""A small, correct job store: the base every broken store of this corpus breaks in one place.

It is deliberately plain, so each broken store's defect is a visible override of one method.
Layout of a store rooted at ``root``::

    root/j0.json                 the job: an 8-digit CRC-32 line, then the job as JSON
    root/j0.json.bak             the previous good version, the fallback for a damaged job file
    root/.j0.json.<random>.tmp   a save in progress (orphaned only if its writer died)
    root/.locks/j0.lock          flock serialising the saves and updates of one job

Usable as a harness store spec::

    jobharness run scenarios/damage-job-file.toml --store tests/broken_stores/base.py:make_store

What makes it correct enough for the scenarios the corpus is tested with:

* a save writes a uniquely named temp file and fsyncs it, renames the current (good) job file to
  ``.bak``, renames the temp file over the job file and fsyncs the directory, all under the
  job's ``flock``: readers see the old version or the new one, a crash leaves a complete file,
  and the backup is always the version just before the current one;
* a checksum catches damage that is still valid JSON (a flipped digit);
* a damaged or missing job file is answered from the backup; with both copies unreadable the
  answer is an error dict naming what is wrong with each; ``get_job`` never raises;
* ``update_job`` is a read-modify-write under the same lock;
* ``recover()`` removes temp files no live writer holds and fails every queued or running job
  whose owner process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

JOB_SUFFIX = ".json"
BACKUP_SUFFIX = ".json.bak"
TEMP_SUFFIX = ".tmp"
LOCK_DIR = ".locks"
TERMINAL = ("done", "error")


class DamagedFile(Exception):
    """A job file that cannot be trusted; the message says why."""


class BaseStore:
    """The correct base store (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = os.fspath(Path(root).absolute())
        os.makedirs(os.path.join(self.root, LOCK_DIR), exist_ok=True)

    def paths_for(self, job_id: str) -> dict[str, Path]:
        """Where the job's files are, so the harness can damage them."""
        return {"main": Path(self._main(job_id)), "backup": Path(self._backup(job_id))}

    def owned_paths(self) -> list[str]:
        """The store's own permanent files besides the jobs': the lock folder."""
        return [LOCK_DIR + "/"]

    # ---------------------------------------------------------------- the API

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        with self._locked(job_id):
            try:
                self._install(job_id, self.encode(job))
            except OSError as error:  # raised, never swallowed; the message names the job
                raise _naming(error, f"saving job {job_id!r}") from error

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        try:
            main = self._read(self._main(job_id))
            if isinstance(main, dict):
                return main
            return self._fallback(job_id, main)
        except Exception as error:  # never raise to the caller: say what went wrong instead
            return _error_job(
                job_id, f"reading job {job_id!r} failed: {type(error).__name__}: {error}"
            )

    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self._locked(job_id):  # the whole read-modify-write: no concurrent update is lost
            return self._merge_and_save(job_id, changes)

    def recover(self) -> dict[str, list[str]]:
        """Remove orphaned temp files, then fail the jobs whose worker died."""
        return {
            "temp_files_removed": self._remove_temp_files(),
            "jobs_failed": self._fail_abandoned(),
        }

    # ---------------------------------------------------------------- format

    def encode(self, job: dict[str, Any]) -> bytes:
        body = json.dumps(job, separators=(",", ":")).encode()
        return b"%08x\n" % zlib.crc32(body) + body

    def decode(self, data: bytes) -> dict[str, Any]:
        header, _, body = data.partition(b"\n")
        if len(header) != 8:
            raise DamagedFile(f"no checksum line ({len(data)} bytes)")
        if int(header, 16) != zlib.crc32(body):
            raise DamagedFile("checksum mismatch (the file was changed after it was written)")
        job = json.loads(body)
        if not isinstance(job, dict):
            raise DamagedFile(f"holds a {type(job).__name__}, not a job")
        return job

    # ---------------------------------------------------------------- writing

    def _install(self, job_id: str, data: bytes) -> None:
        """Make ``data`` the job file; the caller holds the job's lock.

        1. temp file written and fsynced: a crash leaves the new bytes complete or absent;
        2. the current job file, if good, renamed to the backup (a damaged one never replaces
           a good backup): a crash here leaves a complete backup and no job file;
        3. the temp file renamed over the job file: readers switch versions at once;
        4. the directory fsynced: both renames survive a power cut before the save returns.
        """
        main = self._main(job_id)
        temp = self._write_temp(job_id, data)
        try:
            if isinstance(self._read(main), dict):
                # FileNotFoundError: the job file was deleted (by an operator, by the harness)
                # since it was read; there is nothing to rotate and the backup stays as it is.
                with contextlib.suppress(FileNotFoundError):
                    os.replace(main, self._backup(job_id))
            os.replace(temp, main)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        self._fsync_directory()

    def _temp_path(self, job_id: str) -> str:
        """A new, unique temp file name beside the job file (the one ``recover`` looks for)."""
        return os.path.join(self.root, f".{job_id}{JOB_SUFFIX}.{secrets.token_hex(4)}{TEMP_SUFFIX}")

    def _write_temp(self, job_id: str, data: bytes) -> str:
        temp = self._temp_path(job_id)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        os.close(fd)
        return temp

    def _fsync_directory(self) -> None:
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _merge_and_save(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        current = self.get_job(job_id)
        if current is None or current.get("status") == "unknown":
            raise LookupError(f"job {job_id!r} cannot be updated: {_reason(current)}")
        job = dict(current)
        job.update(changes)
        try:
            self._install(job_id, self.encode(job))
        except OSError as error:
            raise _naming(error, f"updating job {job_id!r}") from error
        return job

    # ---------------------------------------------------------------- reading

    def _read(self, path: str) -> dict[str, Any] | str:
        """The job in ``path``, or why there is none: ``"missing"`` or the damage."""
        try:
            with open(path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return "missing"
        except OSError as error:
            return f"cannot be read: {os.strerror(error.errno or errno.EIO)}"
        try:
            return self.decode(data)
        except (DamagedFile, ValueError) as damage:
            return f"is damaged: {damage}"

    def _fallback(self, job_id: str, main: str) -> dict[str, Any] | None:
        """The job file is missing or damaged: the backup holds the version before it.

        A missing job file with a good backup is also what a reader sees during a save, between
        its two renames: then the backup *is* the current version.
        """
        backup = self._read(self._backup(job_id))
        if isinstance(backup, dict):
            return backup
        if main == "missing" and backup == "missing":
            return None
        return _error_job(
            job_id, f"job {job_id!r}: job file {main}; backup {backup}: no readable copy is left"
        )

    # ---------------------------------------------------------------- recovery

    def _remove_temp_files(self) -> list[str]:
        removed = []
        for name in sorted(os.listdir(self.root)):
            if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                continue
            # .<id>.json.<random>.tmp, taken apart from the end: an id may hold dots itself
            job_id = name[1 : -len(TEMP_SUFFIX)].rpartition(".")[0].removesuffix(JOB_SUFFIX)
            try:
                # A live writer holds the job's lock from creating its temp file to the rename.
                with self._locked(job_id, blocking=False):
                    os.unlink(os.path.join(self.root, name))
                    removed.append(name)
            except (BlockingIOError, FileNotFoundError):
                pass
        return removed

    def _fail_abandoned(self) -> list[str]:
        failed = []
        for job_id in self._job_ids():
            with self._locked(job_id):
                job = self.get_job(job_id)
                if job is None or not _is_abandoned(job):
                    continue
                job = dict(job)
                job["status"] = "error"
                job["error"] = (
                    f"abandoned: the worker stopped while the job was {job.get('status')!r}; "
                    "failed on recovery, resubmit it"
                )
                self._install(job_id, self.encode(job))
                failed.append(job_id)
        return failed

    def _job_ids(self) -> list[str]:
        """Every job with a job file or a backup.

        A job whose writer died between its two renames has only its backup: it counts too (the
        harness caught this store leaving such a job running after the restart).
        """
        job_ids = set()
        for name in os.listdir(self.root):
            if name.startswith("."):
                continue
            for suffix in (JOB_SUFFIX, BACKUP_SUFFIX):
                if name.endswith(suffix):
                    job_ids.add(name[: -len(suffix)])
                    break
        return sorted(job_ids)

    # ---------------------------------------------------------------- helpers

    def _main(self, job_id: str) -> str:
        return os.path.join(self.root, job_id + JOB_SUFFIX)

    def _backup(self, job_id: str) -> str:
        return os.path.join(self.root, job_id + BACKUP_SUFFIX)

    @contextlib.contextmanager
    def _locked(self, job_id: str, *, blocking: bool = True) -> Iterator[None]:
        """Hold the job's exclusive flock (released by the kernel if the holder dies)."""
        fd = os.open(
            os.path.join(self.root, LOCK_DIR, job_id + ".lock"), os.O_RDWR | os.O_CREAT, 0o644
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield
        finally:
            os.close(fd)


def _is_abandoned(job: dict[str, Any]) -> bool:
    """A queued or running job whose owner process is gone (or that names no owner)."""
    if job.get("status") in TERMINAL or "status" not in job or job.get("status") == "unknown":
        return False
    owner = job.get("owner")
    pid = owner.get("pid") if isinstance(owner, dict) else None
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _naming(error: OSError, action: str) -> OSError:
    """The same OSError (same errno, same class), its message saying what was being done."""
    reason = error.strerror or str(error)
    return type(error)(error.errno, f"{action} failed: {reason}")


def _error_job(job_id: str, reason: str) -> dict[str, Any]:
    return {"id": job_id, "status": "unknown", "error": reason}


def _reason(job: dict[str, Any] | None) -> str:
    return "it does not exist" if job is None else str(job.get("error"))


def make_store(root: Path) -> BaseStore:
    """The harness factory: ``--store tests/broken_stores/base.py:make_store``."""
    return BaseStore(root)


__all__ = ["BaseStore", "DamagedFile", "make_store"]
