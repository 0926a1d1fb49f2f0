"""The hardened file backend: one JSON file per job, crash-safe, the embedded default.

The layout of a store on disk is described in :mod:`durable_jobs.file_layout`.

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
* **A save reads nothing it wrote itself.** To rotate the current file into the backup a save
  must know it is good; when a ``stat`` shows it is the very file this process installed, and
  unchanged, the version cache says so without reading it back (anything else is read and
  verified in full). The lock files and the directory stay open, read-only, between saves.
* **Errors name the cause.** Every ``OSError`` of a write becomes a :class:`DurabilityError`
  naming the errno and its fix (``EROFS``: remount it read-write); a read-only store still
  serves reads, and nothing it keeps open stops ``mount -o remount,ro``.

The store is split by role: :mod:`~durable_jobs.file_layout` (names), :mod:`~durable_jobs.file_io`
(reads, durable writes, directory fsync), :mod:`~durable_jobs.file_locks` (the lock stripes),
:mod:`~durable_jobs.file_versions` (the version cache), :mod:`~durable_jobs.file_recovery`
(``recover()``); this module holds the public API and the order of the steps of a save.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from durable_jobs.encoding import (
    RECOVERED_KEY,
    DamagedFileError,
    decode_file,
    encode_file,
    encode_job_body,
    peek_version,
)
from durable_jobs.errors import (
    DurabilityError,
    JobNotFoundError,
    JobUnreadableError,
    describe_os_error,
)
from durable_jobs.file_fallback import WRITER_WAIT_SECONDS, serve_backup
from durable_jobs.file_io import (
    MISSING,
    OPEN_FLAGS,
    DirectorySync,
    FileState,
    describe_both,
    error_job,
    os_error,
    read_all,
    read_state,
    unlink_quietly,
    write_temp,
)
from durable_jobs.file_layout import (
    BACKUP_SUFFIX,
    JOB_SUFFIX,
    LOCK_DIR,
    TEMP_SUFFIX,
    backup_path,
    job_id_of,
    job_path,
)
from durable_jobs.file_locks import LOCK_STRIPES, StripeLock, StripeLocks
from durable_jobs.file_recovery import RecoveryReport, recover_store
from durable_jobs.file_versions import VersionCache, has_fine_timestamps, identity_of
from durable_jobs.ids import validate_job_id
from durable_jobs.leases import check_expectation, parse_expect
from durable_jobs.lifecycle import TERMINAL_STATUSES
from durable_jobs.steps import mark

__all__ = [
    "BACKUP_SUFFIX",
    "JOB_SUFFIX",
    "LOCK_DIR",
    "LOCK_STRIPES",
    "TEMP_SUFFIX",
    "WRITER_WAIT_SECONDS",
    "FileJobStore",
    "RecoveryReport",
]

log = logging.getLogger("durable_jobs")

_UNTRUSTED_VERSION = 10**18  # versions have at most 19 digits; no real counter gets near this


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
        self._locks = StripeLocks(self._root)
        self._directory = DirectorySync(self._root)
        self._versions = VersionCache(enabled=None)  # decided by a probe on the first save
        self._probe_lock = threading.Lock()
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
        # acquire/release, not a ``with`` block, and the common case (the job file is the one
        # this process installed last, the job not finished) decided inline: this is the hot
        # path, and every call between two system calls shows in the save's latency, at several
        # times its cost in a loop, because it runs right after an fsync's wait (the bench's T6).
        locks = self._locks
        lock = locks.acquire(name)
        try:
            mark("lock")
            version = self._installed_version(name)
            if version is None:
                version, rotate, both = self._plan_save(name, job)
            else:  # the job file is good: rotate it, unless the job is finished (_backup_policy)
                status = job.get("status")
                both = isinstance(status, str) and status in TERMINAL_STATUSES
                version, rotate = version + 1, True
            mark("read_current")
            data = encode_file(body, version)
            mark("encode")
            self._install(name, data, version=version, rotate=rotate, backup_as_well=both)
        finally:
            locks.release(lock)
        mark("lock")  # the unlock
        self._directory.fsync("save", name)  # step 4 of _install, outside the lock

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
                fd = os.open(main, OPEN_FLAGS)
            except FileNotFoundError:
                return serve_backup(self, name, MISSING)
            except OSError as error:  # an unreadable job file is damage too: try the backup
                problem = f"cannot be opened: {os_error(error)}"
                return serve_backup(self, name, FileState(None, problem))
            try:
                data = read_all(fd)
            except OSError as error:  # EIO from a bad sector is what the backup is for
                problem = f"cannot be read: {os_error(error)}"
                return serve_backup(self, name, FileState(None, problem))
            finally:
                os.close(fd)
            try:
                return decode_file(data).job
            except DamagedFileError as damage:
                return serve_backup(self, name, FileState(None, str(damage), data))
        except Exception as error:  # never raise to the API layer; say what went wrong instead
            log.exception("get_job(%r) failed unexpectedly", name)
            return error_job(name, f"could not read the job: {type(error).__name__}: {error}")

    def update_job(
        self, job_id: str, changes: dict[str, Any], *, expect: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Merge ``changes`` into the job atomically (shallow ``dict.update``) and return it.

        Updates of one job are serialised across processes, so concurrent updates of different
        fields are never lost. Raises :class:`JobNotFoundError` for a job that does not exist,
        :class:`JobUnreadableError` when neither file can be read, :class:`DurabilityError` when
        the write could not be made durable. With ``expect`` (:mod:`durable_jobs.leases`), the
        job is compared under the job's stripe lock, the one the write holds, and
        :class:`LeaseLostError` leaves it unchanged.
        """
        name = validate_job_id(job_id)
        encode_job_body(changes)  # refuse bad changes before taking the lock
        expected = parse_expect(expect)
        with self._locked(name):
            current = read_state(self._main(name))
            source = current
            if current.decoded is None:
                source = read_state(self._backup(name))
                if source.decoded is None:
                    if current.is_missing and source.is_missing:
                        raise JobNotFoundError(f"job {name!r} does not exist")
                    raise JobUnreadableError(
                        f"job {name!r} cannot be updated: {describe_both(current, source)}"
                    )
            assert source.decoded is not None
            job = dict(source.decoded.job)
            check_expectation(name, job, expected)
            job.update(changes)
            version = self._next_version(name, current)
            both = self._backup_policy(name, job, current)
            body = encode_file(encode_job_body(job), version)
            self._install(name, body, version=version, rotate=current.is_good, backup_as_well=both)
        self._directory.fsync("update", name)  # step 4 of _install, outside the lock
        job.pop(RECOVERED_KEY, None)
        return job

    def delete_job(self, job_id: str) -> bool:
        """Remove the job and its backup; True if anything existed."""
        name = validate_job_id(job_id)
        removed = False
        with self._locked(name):
            self._versions.forget(name)
            for path in (self._main(name), self._backup(name)):
                try:
                    os.unlink(path)
                    removed = True
                except FileNotFoundError:
                    pass
                except OSError as error:
                    raise DurabilityError(
                        f"cannot delete job {name!r}: {describe_os_error(error, path)}"
                    ) from error
            if removed:
                self._fsync_directory("delete", name)
        return removed

    def list_jobs(self) -> list[str]:
        """Ids of every job that has a job file or a backup, sorted."""
        ids: set[str] = set()
        with os.scandir(self._root) as entries:
            for entry in entries:
                job_id = job_id_of(entry.name)
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
        return recover_store(self)

    def close(self) -> None:
        """Close this thread's lock descriptors (other threads' close when they end)."""
        self._locks.close()
        self._directory.close()

    # ---------------------------------------------------------------- writing

    def _install(
        self,
        name: str,
        data: bytes,
        *,
        version: int,
        rotate: bool,
        backup_as_well: bool = False,
    ) -> None:
        """Make ``data`` the job file of ``name`` (steps 1-3); the caller holds the job's lock.

        Order, and the crash each step protects against:
          1. write a unique temp file and fsync it: after a crash the new bytes are either
             complete on disk or absent, never half there under the job's name;
          2. with ``rotate`` (the current job file is good: a damaged file must never replace
             a good backup), rename the job file to ``.bak``: a crash now leaves no job file but
             a complete backup, which readers serve and ``recover`` restores;
          3. rename the temp file over the job file: readers switch to the new version at once;
          4. the caller fsyncs the directory: both renames become durable together, and only
             then is the write acknowledged (before it a power cut may bring back the previous
             names). A save does it after releasing the lock: the renames are in place, any
             later fsync of the directory makes them durable, and the next writer of the job
             need not wait for this one's disk. A repair on the read path skips it: its bytes
             are fsynced, and the backup it copies keeps the version durable meanwhile.

        With ``backup_as_well`` the backup is a second, separate copy of the new version: for a
        finished job (its previous version would bring it back to life as "running") and when
        no good version is left to keep.

        Once the job file is in place, its identity and ``version`` go into the version cache.
        """
        self._versions.forget(name)  # from the first rename on, the job file is not the cached one
        root = self._root
        temp, written = write_temp(root, name, data)
        main = f"{root}/{name}{JOB_SUFFIX}"
        try:
            if backup_as_well:
                # Backup first: a crash between the renames leaves the old job file, which is
                # still good, and a backup that is newer than it, never an older one alone.
                self._write_backup_copy(name, data)
            elif rotate:
                # Not contextlib.suppress: that builds a context manager object on every save.
                try:  # noqa: SIM105
                    os.replace(main, f"{root}/{name}{BACKUP_SUFFIX}")
                except FileNotFoundError:
                    pass  # deleted by someone else since we read it: nothing to keep, carry on
            mark("rename_backup")
            os.replace(temp, main)
            mark("rename")
        except (OSError, DurabilityError) as error:
            unlink_quietly(temp)
            if isinstance(error, DurabilityError):
                raise  # the backup copy could not be made; it says why
            raise DurabilityError(
                f"cannot save job {name!r}: rename failed: {describe_os_error(error, main)}; "
                "the previous version is intact (possibly only as the backup)"
            ) from error
        self._versions.remember(name, identity_of(written), version)

    def _write_backup_copy(self, name: str, data: bytes) -> None:
        """Replace the backup of ``name`` by a separate, fsynced copy of ``data``.

        Durable once the directory is fsynced (the caller's step); raises
        :class:`DurabilityError` naming the cause. Saves and ``recover`` share it.
        """
        temp = write_temp(self._root, name, data)[0]
        backup = f"{self._root}/{name}{BACKUP_SUFFIX}"
        try:
            os.replace(temp, backup)
        except OSError as error:
            unlink_quietly(temp)
            raise DurabilityError(
                f"cannot replace the backup of job {name!r}: rename failed: "
                f"{describe_os_error(error, backup)}; the job file is intact"
            ) from error

    def _plan_save(self, name: str, job: dict[str, Any]) -> tuple[int, bool, bool]:
        """Version, rotate, backup_as_well of a save that the version cache cannot answer.

        The job file is read and verified (not parsed): only a good file is rotated into the
        backup, and the new version is one more than any this job has had.
        """
        current = read_state(f"{self._root}/{name}{JOB_SUFFIX}", parse=False)
        version = self._next_version(name, current)
        return version, current.is_good, self._backup_policy(name, job, current)

    def _backup_policy(self, name: str, job: dict[str, Any], current: FileState) -> bool:
        """Should the backup be a copy of the new version rather than the previous one?"""
        status = job.get("status")
        if isinstance(status, str) and status in TERMINAL_STATUSES:
            return True
        if current.is_good:
            return False
        return not read_state(self._backup(name), parse=False).is_good

    def _fsync_directory(self, action: str, name: str) -> None:
        self._directory.fsync(action, name)

    def _installed_version(self, name: str) -> int | None:
        """The job file's version if it is the very file this process installed last, unchanged.

        One ``stat`` against the version cache (:mod:`durable_jobs.file_versions`); None means
        "read and verify it" (a file changed by someone else, damaged, missing, or a store whose
        filesystem cannot tell two writes apart). The lock is held.
        """
        versions = self._versions
        if not versions.enabled and (versions.enabled is False or not self._probe_versions()):
            return None
        try:
            return versions.version_of_file(name, os.stat(f"{self._root}/{name}{JOB_SUFFIX}"))
        except OSError:
            return None  # missing or unreadable: the read says which

    def _probe_versions(self) -> bool:
        """Whether the version cache can be used here, probed on the first save (then kept)."""
        if self._versions.enabled is None:
            with self._probe_lock:
                if self._versions.enabled is None:
                    self._versions.enabled = has_fine_timestamps(f"{self._root}/{LOCK_DIR}")
        return bool(self._versions.enabled)

    def _next_version(self, name: str, current: FileState) -> int:
        """One more than any version this job has had, so the counter only grows."""
        if current.version is not None:
            return current.version + 1
        peeked = peek_version(current.raw) if current.raw else None
        if peeked is not None and peeked >= _UNTRUSTED_VERSION:
            # The header is damaged too: one more would need 20 digits, a header no reader
            # accepts, and the save would be acknowledged as a file nobody can read.
            peeked = None
        backup = read_state(self._backup(name), parse=False)
        base = backup.version + 1 if backup.version is not None else 0
        # A damaged job file held (at least) the version after its backup; skip past it.
        return max(base, peeked or 0) + 1

    # ---------------------------------------------------------------- helpers

    def _main(self, name: str) -> str:
        return job_path(self._root, name)

    def _backup(self, name: str) -> str:
        return backup_path(self._root, name)

    def _locked(self, name: str, *, blocking: bool = True) -> StripeLock:
        """Hold the exclusive lock of ``name``'s stripe (raises BlockingIOError if not blocking)."""
        return self._locks.locked(name, blocking=blocking)
