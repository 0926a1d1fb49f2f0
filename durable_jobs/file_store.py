"""The hardened file backend: one JSON file per job, crash-safe, the embedded default.

Layout of a store rooted at ``data/jobs``::

    data/jobs/a1.json                 the job (see durable_jobs.encoding for the format)
    data/jobs/a1.json.bak             the previous good version, the fallback for damage
    data/jobs/.a1.json.<random>.tmp   a write in progress (orphaned only if its writer died)
    data/jobs/.locks/NN.lock          lock stripes serialising writers of the same job

What it keeps from the incident's design (phase 4.7.0), and what it adds:

* **Atomic replace.** A new version is written to a temp file, fsynced, then renamed over the
  job file, so a reader sees the old version or the new one, never a mix. Phase 4.7.0 did this too,
  but with one fixed temp name per job: two writers of one job wrote into the same temp file and
  one renamed the other's half-written bytes into place. Temp names here are unique.
* **Directory fsync.** ``rename`` changes the directory, not the file; until the directory is
  fsynced a power cut can bring the old name back. A save is acknowledged only after it.
* **Atomic backup without copying.** The current file is *renamed* to ``.bak`` just before the new
  version is renamed into place, so the backup is a complete, already-fsynced file at every
  instant, costs one rename, and is made durable by the same directory fsync.
* **Checksums.** Damage that leaves valid JSON (a flipped digit) is detected, not served.
* **Fast recovery.** A damaged file is not retried (an atomic replace means rereading the same
  bytes cannot help); the backup is read at once, the job file repaired from it, and the result
  marked with ``_recovered``.
* **Serialised writers.** Every save and update of a job holds an exclusive ``flock`` on the
  job's lock stripe, so ``update_job`` is an atomic read-modify-write across processes, the
  backup is always the version just before the current one, and version numbers only grow.
* **Recovery at start-up.** :meth:`FileJobStore.recover` removes orphaned temp files, repairs
  damaged files from their backups and fails jobs whose worker died.

Paths are handled as plain strings and ``os`` calls on purpose: this is the hot path, and
``pathlib`` objects would cost more than the read they wrap.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import secrets
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_jobs.encoding import (
    RECOVERED_KEY,
    DamagedFileError,
    DecodedJob,
    decode_file,
    encode_file,
    encode_job_body,
    peek_version,
    verify_file,
)
from durable_jobs.errors import DurabilityError, JobNotFoundError, JobUnreadableError
from durable_jobs.ids import is_valid_job_id, validate_job_id
from durable_jobs.lifecycle import TERMINAL_STATUSES, abandonment_changes, is_abandoned
from durable_jobs.steps import mark

log = logging.getLogger("durable_jobs")

JOB_SUFFIX = ".json"
BACKUP_SUFFIX = ".json.bak"
TEMP_SUFFIX = ".tmp"
LOCK_DIR = ".locks"
LOCK_STRIPES = 64
WRITER_WAIT_SECONDS = 2.0  # how long a reader with no readable copy waits for a busy writer
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_UNTRUSTED_VERSION = 10**18  # versions have at most 19 digits; no real counter gets near this


@dataclass
class RecoveryReport:
    """What :meth:`recover` found and did, job by job, so start-up can log it."""

    temp_files_removed: list[str] = field(default_factory=list)
    repaired_from_backup: list[str] = field(default_factory=list)
    backups_rewritten: list[str] = field(default_factory=list)
    abandoned_jobs_failed: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    foreign_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "temp_files_removed": list(self.temp_files_removed),
            "repaired_from_backup": list(self.repaired_from_backup),
            "backups_rewritten": list(self.backups_rewritten),
            "abandoned_jobs_failed": list(self.abandoned_jobs_failed),
            "unreadable": dict(self.unreadable),
            "foreign_files": list(self.foreign_files),
        }


@dataclass(frozen=True, slots=True)
class _FileState:
    """One of a job's two files as read from disk: decoded, or the reason it is not usable."""

    decoded: DecodedJob | None
    problem: str | None  # None when good; "missing" when the file does not exist
    raw: bytes | None = None
    version: int | None = None  # set when the file is good (verified, parsed or not)

    @property
    def is_missing(self) -> bool:
        return self.problem == "missing"

    @property
    def is_good(self) -> bool:
        return self.version is not None


_MISSING = _FileState(None, "missing")


class FileJobStore:
    """The hardened file backend. Safe to share between threads and between processes.

    >>> store = FileJobStore(tmp_path)                          # doctest: +SKIP
    >>> store.save_job("a1", {"status": "queued"})              # doctest: +SKIP
    >>> store.update_job("a1", {"status": "running"})["status"] # doctest: +SKIP
    'running'
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._root = os.fspath(self.root.absolute())
        self._lock_fds = threading.local()
        try:
            os.makedirs(os.path.join(self._root, LOCK_DIR), exist_ok=True)
        except OSError as error:
            raise DurabilityError(
                f"cannot create the job directory {self._root!r}: {error.strerror}; "
                "check the path and its permissions"
            ) from error

    def __repr__(self) -> str:
        return f"FileJobStore({self._root!r})"

    def paths_for(self, job_id: str) -> dict[str, Path]:
        """The files that hold ``job_id`` (the harness damages these on purpose)."""
        name = validate_job_id(job_id)
        return {"main": Path(self._main(name)), "backup": Path(self._backup(name))}

    def owned_paths(self) -> list[str]:
        """The store's own files besides the jobs' (the lock stripes), relative to the root."""
        return [f"{LOCK_DIR}/"]

    # ---------------------------------------------------------------- public API

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        """Store ``job`` durably; when this returns, the new version survives a power cut.

        Raises :class:`InvalidJobIdError` or :class:`InvalidJobError` before touching the disk,
        and :class:`DurabilityError` when the write could not be made durable.
        """
        name = validate_job_id(job_id)
        body = encode_job_body(job)
        mark("encode")
        with self._locked(name):
            mark("lock")
            current = self._read_state(self._main(name), parse=False)
            mark("read_current")
            version = self._next_version(name, current)
            both = self._backup_policy(name, job, current)
            data = encode_file(body, version)
            mark("encode")
            self._install(name, data, current, backup_as_well=both)
        mark("lock")  # the unlock

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """Return the job, ``None`` if it never existed, or an error dict; never raises for state.

        A damaged job file is not retried: the backup is read at once, the job file repaired from
        it when no writer is busy, and the returned job carries ``_recovered`` with the reason.
        When nothing readable is left the result is
        ``{"id": job_id, "status": "unknown", "error": "<what is wrong with each file>"}``.
        Only an invalid id raises (:class:`InvalidJobIdError`): it could never name a job.
        """
        name = validate_job_id(job_id)
        try:
            main = self._main(name)
            try:
                fd = os.open(main, _OPEN_FLAGS)
            except FileNotFoundError:
                return self._read_fallback(name, _MISSING)
            except OSError as error:  # an unreadable job file is damage too: try the backup
                problem = f"cannot be opened: {_os_error(error)}"
                return self._read_fallback(name, _FileState(None, problem))
            try:
                data = _read_all(fd)
            except OSError as error:  # EIO from a bad sector is what the backup is for
                problem = f"cannot be read: {_os_error(error)}"
                return self._read_fallback(name, _FileState(None, problem))
            finally:
                os.close(fd)
            try:
                return decode_file(data).job
            except DamagedFileError as damage:
                return self._read_fallback(name, _FileState(None, str(damage), data))
        except Exception as error:  # never raise to the API layer; say what went wrong instead
            log.exception("get_job(%r) failed unexpectedly", name)
            return _error_job(name, f"could not read the job: {type(error).__name__}: {error}")

    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the job atomically (shallow ``dict.update``) and return it.

        Updates of one job are serialised across processes, so concurrent updates of different
        fields are never lost. Raises :class:`JobNotFoundError` for a job that does not exist,
        :class:`JobUnreadableError` when neither file can be read, :class:`DurabilityError` when
        the write could not be made durable.
        """
        name = validate_job_id(job_id)
        encode_job_body(changes)  # refuse bad changes before taking the lock
        with self._locked(name):
            current = self._read_state(self._main(name))
            source = current
            if current.decoded is None:
                source = self._read_state(self._backup(name))
                if source.decoded is None:
                    if current.is_missing and source.is_missing:
                        raise JobNotFoundError(f"job {name!r} does not exist")
                    raise JobUnreadableError(
                        f"job {name!r} cannot be updated: {_describe_both(current, source)}"
                    )
            assert source.decoded is not None
            job = dict(source.decoded.job)
            job.update(changes)
            version = self._next_version(name, current)
            both = self._backup_policy(name, job, current)
            body = encode_file(encode_job_body(job), version)
            self._install(name, body, current, backup_as_well=both)
        job.pop(RECOVERED_KEY, None)
        return job

    def delete_job(self, job_id: str) -> bool:
        """Remove the job and its backup; True if anything existed."""
        name = validate_job_id(job_id)
        removed = False
        with self._locked(name):
            for path in (self._main(name), self._backup(name)):
                try:
                    os.unlink(path)
                    removed = True
                except FileNotFoundError:
                    pass
                except OSError as error:
                    raise DurabilityError(f"cannot delete {path!r}: {error.strerror}") from error
            if removed:
                self._fsync_directory("delete", name)
        return removed

    def list_jobs(self) -> list[str]:
        """Ids of every job that has a job file or a backup, sorted."""
        ids: set[str] = set()
        with os.scandir(self._root) as entries:
            for entry in entries:
                job_id = _job_id_of(entry.name)
                if job_id is not None:
                    ids.add(job_id)
        return sorted(ids)

    def recover(self) -> RecoveryReport:
        """Bring the store back to a clean state; run it at application start-up.

        1. Remove temp files left by writers that died (a live writer holds the job's lock, and
           its temp file is skipped).
        2. Repair each damaged or missing job file from its backup, and rewrite damaged backups
           from a good job file.
        3. Fail every non-terminal job that no live process owns (status ``error`` with a reason),
           so no job stays "running" forever.

        Safe to run while other processes use the store. Never raises for a single bad job: what
        cannot be repaired is listed in :attr:`RecoveryReport.unreadable`.
        """
        report = RecoveryReport()
        job_ids: set[str] = set()
        temp_files: list[tuple[str, str]] = []
        with os.scandir(self._root) as entries:
            for entry in entries:
                if entry.name.endswith(TEMP_SUFFIX) and entry.name.startswith("."):
                    temp_files.append((_job_id_of_temp(entry.name), entry.name))
                    continue
                job_id = _job_id_of(entry.name)
                if job_id is not None:
                    job_ids.add(job_id)
        for job_id, temp_name in temp_files:
            self._remove_orphan(job_id, temp_name, report)
        for job_id in sorted(job_ids):
            self._recover_job(job_id, report)
        if report.temp_files_removed:
            self._fsync_directory("recover", "*")
        return report

    def close(self) -> None:
        """Close this thread's lock descriptors (other threads' close when they end)."""
        local = self._lock_fds
        if getattr(local, "pid", None) == os.getpid():
            for fd in local.fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
        local.pid, local.fds = None, {}

    # ---------------------------------------------------------------- writing

    def _install(
        self,
        name: str,
        data: bytes,
        current: _FileState,
        *,
        backup_as_well: bool = False,
        durable_rename: bool = True,
    ) -> None:
        """Make ``data`` the job file of ``name``; the caller holds the job's lock.

        Order, and the crash each step protects against:
          1. write a unique temp file and fsync it: after a crash the new bytes are either
             complete on disk or absent, never half there under the job's name;
          2. rename the current job file to ``.bak`` (only if it is good, so a damaged file never
             replaces a good backup): a crash now leaves no job file but a complete backup,
             which readers serve and ``recover`` restores;
          3. rename the temp file over the job file: readers switch to the new version at once;
          4. fsync the directory: both renames become durable together. Only now is the write
             acknowledged; before it a power cut may bring back the previous names.

        With ``backup_as_well`` the backup becomes a second copy of the new version instead (a
        separate file, so damage to one copy never reaches the other): for a finished job, whose
        previous version would bring it back to life as "running", and when no good version is
        left to keep.

        ``durable_rename=False`` skips step 4, for a repair from the backup on the read path: the
        repaired file's bytes are still fsynced (a later save may rotate it into the backup),
        but its name need not survive a power cut, because the backup it was copied from does.
        That keeps one fsync, not two, in the p99 of a read that meets a damaged file.
        """
        main = self._main(name)
        temp = self._write_temp(name, data)
        backup_temp = None
        try:
            if backup_as_well:
                backup_temp = self._write_temp(name, data)
                # Backup first: a crash between the renames leaves the old job file, which is
                # still good, and a backup that is newer than it, never an older one alone.
                os.replace(backup_temp, self._backup(name))
            elif current.is_good:
                # Deleted by someone else since we read it: nothing to keep, carry on.
                with contextlib.suppress(FileNotFoundError):
                    os.replace(main, self._backup(name))
            mark("rename_backup")
            os.replace(temp, main)
            mark("rename")
        except OSError as error:
            _unlink_quietly(temp)
            if backup_temp is not None:
                _unlink_quietly(backup_temp)
            raise DurabilityError(
                f"cannot save job {name!r}: rename failed: {_os_error(error)}; "
                "the previous version is intact (possibly only as the backup)"
            ) from error
        if durable_rename:
            self._fsync_directory("save", name)

    def _backup_policy(self, name: str, job: dict[str, Any], current: _FileState) -> bool:
        """Should the backup be a copy of the new version rather than the previous one?"""
        status = job.get("status")
        if isinstance(status, str) and status in TERMINAL_STATUSES:
            return True
        if current.is_good:
            return False
        return not self._read_state(self._backup(name), parse=False).is_good

    def _write_temp(self, name: str, data: bytes) -> str:
        """Write ``data`` to a new uniquely named temp file beside the job file and fsync it."""
        temp = os.path.join(self._root, f".{name}{JOB_SUFFIX}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        try:
            fd = os.open(temp, _CREATE_FLAGS, 0o644)
        except OSError as error:
            raise DurabilityError(
                f"cannot save job {name!r}: cannot create a temp file: {_os_error(error)}; "
                "the previous version is intact"
            ) from error
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                mark("write")
                os.fsync(fd)
            finally:
                os.close(fd)  # close can report a deferred write error too; it is not ignored
            mark("fsync")
        except OSError as error:
            _unlink_quietly(temp)
            raise DurabilityError(
                f"cannot save job {name!r}: writing the new version failed: {_os_error(error)}; "
                "the previous version is intact"
            ) from error
        return temp

    def _fsync_directory(self, action: str, name: str) -> None:
        try:
            fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            mark("dir_fsync")
        except OSError as error:
            raise DurabilityError(
                f"{action} of job {name!r} is visible but not durable: fsync of the directory "
                f"failed: {_os_error(error)}; it may be undone by a power loss"
            ) from error

    def _next_version(self, name: str, current: _FileState) -> int:
        """One more than any version this job has had, so the counter only grows."""
        if current.version is not None:
            return current.version + 1
        peeked = peek_version(current.raw) if current.raw else None
        if peeked is not None and peeked >= _UNTRUSTED_VERSION:
            # The header is damaged too: one more would need 20 digits, a header no reader
            # accepts, and the save would be acknowledged as a file nobody can read.
            peeked = None
        backup = self._read_state(self._backup(name), parse=False)
        base = backup.version + 1 if backup.version is not None else 0
        # A damaged job file held (at least) the version after its backup; skip past it.
        return max(base, peeked or 0) + 1

    # ---------------------------------------------------------------- reading

    def _read_state(self, path: str, *, parse: bool = True) -> _FileState:
        """Read and verify one file; ``parse=False`` skips parsing the job (saves need not)."""
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            return _MISSING
        except OSError as error:
            return _FileState(None, f"cannot be opened: {_os_error(error)}")
        try:
            data = _read_all(fd)
        except OSError as error:
            return _FileState(None, f"cannot be read: {_os_error(error)}")
        finally:
            os.close(fd)
        try:
            if not parse:
                return _FileState(None, None, data, verify_file(data))
            decoded = decode_file(data)
        except DamagedFileError as damage:
            return _FileState(None, str(damage), data)
        return _FileState(decoded, None, data, decoded.version)

    def _read_fallback(self, name: str, main: _FileState) -> dict[str, Any] | None:
        """The job file is missing or damaged: serve the backup, repairing the job file from it."""
        backup = self._read_state(self._backup(name))
        if backup.decoded is None:
            if main.is_missing and backup.is_missing:
                return None
            # Before declaring the job unreadable, let a writer that is between its two renames
            # finish: its job file is missing for that moment, and the backup it just rotated
            # may be the very file that was damaged.
            settled = self._read_after_writers(name)
            if settled.decoded is not None:
                return settled.decoded.job
            return _error_job(name, _describe_both(main, backup))
        # A missing job file with a good backup is also what a reader sees during a save, between
        # its two renames. The repair takes the job's lock without waiting: if a writer holds
        # it, the writer is about to put a new job file in place and no repair is needed.
        repaired = self._repair_from_backup(name, blocking=False)
        if main.is_missing and repaired is None:
            return backup.decoded.job  # a save in progress: the backup *is* the current version
        job = dict(backup.decoded.job)
        job[RECOVERED_KEY] = f"job file: {main.problem}; served the backup (last good version)"
        if repaired is False:
            job[RECOVERED_KEY] += "; repairing the job file failed, see the log"
        log.warning("get_job(%r): job file: %s; served the backup", name, main.problem)
        return job

    def _read_after_writers(self, name: str) -> _FileState:
        """Wait (bounded) until no writer holds the job's lock, then read the job file again."""
        deadline = time.monotonic() + WRITER_WAIT_SECONDS
        while True:
            try:
                with self._locked(name, blocking=False):
                    break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break  # a stuck writer must not hang readers: report what is there
                time.sleep(0.001)
        return self._read_state(self._main(name))

    def _repair_from_backup(self, name: str, *, blocking: bool) -> bool | None:
        """Rewrite a damaged or missing job file from its backup, under the job's lock.

        Returns True when repaired, False when the repair failed, None when there was nothing to
        do or a writer held the lock (it will install a new version itself).
        """
        try:
            with self._locked(name, blocking=blocking):
                current = self._read_state(self._main(name))
                if current.decoded is not None:
                    return None  # a writer or another reader fixed it meanwhile
                backup = self._read_state(self._backup(name))
                if backup.decoded is None:
                    return None
                version = self._next_version(name, current)
                body = encode_job_body(backup.decoded.job)
                # Keep the backup as it is: it stays the last good version until the next save.
                self._install(name, encode_file(body, version), _MISSING, durable_rename=False)
                log.warning("job %r: job file repaired from its backup", name)
                return True
        except BlockingIOError:
            return None
        except Exception:
            log.exception("job %r: repairing the job file from its backup failed", name)
            return False

    # ---------------------------------------------------------------- recovery

    def _remove_orphan(self, job_id: str | None, temp_name: str, report: RecoveryReport) -> None:
        if job_id is None:
            return  # not a name this store gives its temp files: not ours to remove
        try:
            # A writer holds the lock from creating its temp file until the rename; if we can
            # take the lock without waiting, no live writer owns this temp file.
            with self._locked(job_id, blocking=False):
                os.unlink(os.path.join(self._root, temp_name))
                report.temp_files_removed.append(temp_name)
        except (BlockingIOError, FileNotFoundError):
            pass
        except OSError as error:
            report.unreadable[job_id] = f"cannot remove temp file {temp_name}: {_os_error(error)}"

    def _recover_job(self, job_id: str, report: RecoveryReport) -> None:
        try:
            with self._locked(job_id):
                main = self._read_state(self._main(job_id))
                backup = self._read_state(self._backup(job_id))
                if main.decoded is None and backup.decoded is not None:
                    version = self._next_version(job_id, main)
                    body = encode_job_body(backup.decoded.job)
                    self._install(job_id, encode_file(body, version), _MISSING)
                    report.repaired_from_backup.append(job_id)
                    main = self._read_state(self._main(job_id))
                elif main.decoded is None:
                    if main.problem and "another program" in main.problem:
                        report.foreign_files.append(job_id)
                    report.unreadable[job_id] = _describe_both(main, backup)
                    return
                elif not backup.is_missing and backup.decoded is None:
                    self._rewrite_backup(job_id, main)
                    report.backups_rewritten.append(job_id)
                assert main.decoded is not None
                if is_abandoned(main.decoded.job):
                    job = dict(main.decoded.job)
                    job.update(abandonment_changes(job))
                    version = self._next_version(job_id, main)
                    body = encode_file(encode_job_body(job), version)
                    self._install(job_id, body, main, backup_as_well=True)  # now a finished job
                    report.abandoned_jobs_failed.append(job_id)
        except Exception as error:  # one bad job must not stop the start-up of the service
            log.exception("recover: job %r", job_id)
            report.unreadable[job_id] = f"recovery failed: {type(error).__name__}: {error}"

    def _rewrite_backup(self, name: str, main: _FileState) -> None:
        """Replace a damaged backup with a copy of the good job file (same version)."""
        assert main.raw is not None
        temp = self._write_temp(name, main.raw)
        try:
            os.replace(temp, self._backup(name))
        except OSError as error:
            _unlink_quietly(temp)
            raise DurabilityError(f"cannot rewrite the backup of {name!r}: {error}") from error
        self._fsync_directory("backup rewrite", name)

    # ---------------------------------------------------------------- helpers

    def _main(self, name: str) -> str:
        return f"{self._root}/{name}{JOB_SUFFIX}"

    def _backup(self, name: str) -> str:
        return f"{self._root}/{name}{BACKUP_SUFFIX}"

    def _locked(self, name: str, *, blocking: bool = True) -> _StripeLock:
        """Hold the exclusive lock of ``name``'s stripe (raises BlockingIOError if not blocking).

        ``flock`` locks belong to an open file description, so every thread keeps descriptors
        of its own: two threads of one process exclude each other like two processes do. The
        kernel drops the lock when its holder dies, so a killed writer never blocks the others.
        """
        return _StripeLock(self, zlib.crc32(name.encode()) % LOCK_STRIPES, blocking)

    def _lock_fd(self, stripe: int) -> int:
        """This thread's descriptor of a stripe's lock file, opened once and kept.

        Kept open because opening and closing it on every save cost more than the lock itself.
        A forked child shares its parent's open file descriptions, and with them their locks,
        so a child opens its own.
        """
        local = self._lock_fds
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            local.pid, local.fds = pid, {}
        fd = local.fds.get(stripe)
        if fd is None:
            path = f"{self._root}/{LOCK_DIR}/{stripe:02d}.lock"
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            try:
                fd = os.open(path, flags, 0o644)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(path, flags, 0o644)
            local.fds[stripe] = fd
        return fd


class _StripeLock:
    """``with`` block holding one lock stripe (a class: cheaper than a generator on every save)."""

    __slots__ = ("blocking", "fd", "store", "stripe")

    def __init__(self, store: FileJobStore, stripe: int, blocking: bool) -> None:
        self.store, self.stripe, self.blocking = store, stripe, blocking
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = self.store._lock_fd(self.stripe)
        fcntl.flock(self.fd, fcntl.LOCK_EX if self.blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)

    def __exit__(self, *exc_info: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)


def _read_all(fd: int) -> bytes:
    """Read a whole file. Sized by fstat, because os.read allocates the full size it is asked."""
    size = os.fstat(fd).st_size
    data = os.read(fd, size + 1)
    if len(data) <= size:
        return data  # a short read of a regular file means end of file: no second call needed
    chunks = [data]
    while chunk := os.read(fd, 1 << 16):  # the file grew (someone else's writer): keep reading
        chunks.append(chunk)
    return b"".join(chunks) if len(chunks) > 1 else data


def _job_id_of(file_name: str) -> str | None:
    """The job id a job file or backup belongs to, or None for any other file."""
    if file_name.endswith(JOB_SUFFIX):
        candidate = file_name[: -len(JOB_SUFFIX)]
    elif file_name.endswith(BACKUP_SUFFIX):
        candidate = file_name[: -len(BACKUP_SUFFIX)]
    else:
        return None
    return candidate if is_valid_job_id(candidate) else None


def _job_id_of_temp(file_name: str) -> str | None:
    """The job whose save made the temp file ``.<id>.json.<random>.tmp``, or None.

    The id is what lies between the leading dot and the last ``.json.``: ids may hold dots
    themselves (``report.v2``), so the name is taken apart from its end, never split at the
    first dot (which once pointed recovery at the wrong job's lock and let it delete the temp
    file of a live writer: its rename then failed with ENOENT).

    >>> _job_id_of_temp(".report.v2.json.a1b2c3d4e5f6.tmp")
    'report.v2'
    >>> _job_id_of_temp(".notes.tmp") is None
    True
    """
    if not (file_name.startswith(".") and file_name.endswith(TEMP_SUFFIX)):
        return None
    stem, _, _random = file_name[1 : -len(TEMP_SUFFIX)].rpartition(".")
    if not stem.endswith(JOB_SUFFIX):
        return None
    candidate = stem[: -len(JOB_SUFFIX)]
    return candidate if is_valid_job_id(candidate) else None


def _describe_both(main: _FileState, backup: _FileState) -> str:
    return f"job file: {main.problem}; backup: {backup.problem}"


def _error_job(name: str, reason: str) -> dict[str, Any]:
    # The message names the job itself: it is logged, and read, apart from the dict.
    return {"id": name, "status": "unknown", "error": f"job {name!r}: {reason}"}


def _os_error(error: OSError) -> str:
    code = errno.errorcode.get(error.errno or 0, "")
    return f"{error.strerror or error} ({code})" if code else str(error)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
