"""Recovery of a file store at start-up: orphaned temp files, damaged files, abandoned jobs.

:func:`recover_store` is what :meth:`FileJobStore.recover` runs; :class:`RecoveryReport` is
what it returns, job by job, so start-up can log it::

    report = store.recover()
    report.repaired_from_backup     # ['a1']: its job file was damaged, rewritten from the backup
    report.abandoned_jobs_failed    # ['b2']: it was "running" and its worker is dead

Recovery only uses the store's own locked read-modify-write steps (the :class:`RecoverableStore`
protocol), so it is safe while other processes use the store.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from durable_jobs.encoding import encode_file, encode_job_body
from durable_jobs.errors import DurabilityError
from durable_jobs.file_io import (
    MISSING,
    FileState,
    describe_both,
    fsync_directory,
    os_error,
    read_state,
    unlink_quietly,
    write_temp,
)
from durable_jobs.file_layout import backup_path, is_temp_name, job_id_of, job_id_of_temp, job_path
from durable_jobs.file_locks import StripeLock
from durable_jobs.lifecycle import abandonment_changes, is_abandoned

log = logging.getLogger("durable_jobs")


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


class RecoverableStore(Protocol):
    """The steps of :class:`FileJobStore` that recovery is built from."""

    _root: str

    def _locked(self, name: str, *, blocking: bool = True) -> StripeLock: ...

    def _next_version(self, name: str, current: FileState) -> int: ...

    def _install(
        self, name: str, data: bytes, current: FileState, *, backup_as_well: bool = False
    ) -> None: ...


def recover_store(store: RecoverableStore) -> RecoveryReport:
    """Remove orphaned temp files, repair damaged files, fail abandoned jobs (see ``recover``)."""
    report = RecoveryReport()
    job_ids: set[str] = set()
    temp_files: list[tuple[str | None, str]] = []
    with os.scandir(store._root) as entries:
        for entry in entries:
            if is_temp_name(entry.name):
                temp_files.append((job_id_of_temp(entry.name), entry.name))
                continue
            job_id = job_id_of(entry.name)
            if job_id is not None:
                job_ids.add(job_id)
    for job_id, temp_name in temp_files:
        _remove_orphan(store, job_id, temp_name, report)
    for job_id in sorted(job_ids):
        _recover_job(store, job_id, report)
    if report.temp_files_removed:
        fsync_directory(store._root, "recover", "*")
    return report


def _remove_orphan(
    store: RecoverableStore, job_id: str | None, temp_name: str, report: RecoveryReport
) -> None:
    if job_id is None:
        return  # not a name this store gives its temp files: not ours to remove
    try:
        # A writer holds the lock from creating its temp file until the rename; if we can
        # take the lock without waiting, no live writer owns this temp file.
        with store._locked(job_id, blocking=False):
            os.unlink(os.path.join(store._root, temp_name))
            report.temp_files_removed.append(temp_name)
    except (BlockingIOError, FileNotFoundError):
        pass
    except OSError as error:
        report.unreadable[job_id] = f"cannot remove temp file {temp_name}: {os_error(error)}"


def _recover_job(store: RecoverableStore, job_id: str, report: RecoveryReport) -> None:
    try:
        with store._locked(job_id):
            main = read_state(job_path(store._root, job_id))
            backup = read_state(backup_path(store._root, job_id))
            if main.decoded is None and backup.decoded is not None:
                version = store._next_version(job_id, main)
                body = encode_job_body(backup.decoded.job)
                store._install(job_id, encode_file(body, version), MISSING)
                report.repaired_from_backup.append(job_id)
                main = read_state(job_path(store._root, job_id))
            elif main.decoded is None:
                if main.problem and "another program" in main.problem:
                    report.foreign_files.append(job_id)
                report.unreadable[job_id] = describe_both(main, backup)
                return
            elif not backup.is_missing and backup.decoded is None:
                _rewrite_backup(store._root, job_id, main)
                report.backups_rewritten.append(job_id)
            assert main.decoded is not None
            if is_abandoned(main.decoded.job):
                job = dict(main.decoded.job)
                job.update(abandonment_changes(job))
                version = store._next_version(job_id, main)
                body = encode_file(encode_job_body(job), version)
                store._install(job_id, body, main, backup_as_well=True)  # now a finished job
                report.abandoned_jobs_failed.append(job_id)
    except Exception as error:  # one bad job must not stop the start-up of the service
        log.exception("recover: job %r", job_id)
        report.unreadable[job_id] = f"recovery failed: {type(error).__name__}: {error}"


def _rewrite_backup(root: str, name: str, main: FileState) -> None:
    """Replace a damaged backup with a copy of the good job file (same version)."""
    assert main.raw is not None
    temp = write_temp(root, name, main.raw)
    try:
        os.replace(temp, backup_path(root, name))
    except OSError as error:
        unlink_quietly(temp)
        raise DurabilityError(f"cannot rewrite the backup of {name!r}: {error}") from error
    fsync_directory(root, "backup rewrite", name)
