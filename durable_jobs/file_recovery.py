"""Recovery of a file store at start-up: orphaned temp files, damaged files, abandoned jobs.

:func:`recover_store` is what :meth:`FileJobStore.recover` runs; :class:`RecoveryReport` is
what it returns, job by job, so start-up can log it::

    report = store.recover()
    report.repaired_from_backup     # ['a1']: its job file was damaged, rewritten from the backup
    report.abandoned_jobs_failed    # ['b2']: it was "running" and its worker is dead

Recovery only uses the store's own locked read-modify-write steps (the
:class:`~durable_jobs.file_steps.StoreSteps` protocol), so it is safe while other processes use
the store.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from durable_jobs.encoding import encode_file, encode_job_body
from durable_jobs.errors import DurabilityError
from durable_jobs.file_io import (
    FileState,
    describe_both,
    os_error,
    read_state,
)
from durable_jobs.file_layout import backup_path, is_temp_name, job_id_of, job_id_of_temp, job_path
from durable_jobs.file_steps import StoreSteps
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
    # Readable jobs that needed a change recovery could not write (a read-only or full disk):
    # the reason, naming the errno. They are left as they were; run recover() again once fixed.
    not_written: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "temp_files_removed": list(self.temp_files_removed),
            "repaired_from_backup": list(self.repaired_from_backup),
            "backups_rewritten": list(self.backups_rewritten),
            "abandoned_jobs_failed": list(self.abandoned_jobs_failed),
            "unreadable": dict(self.unreadable),
            "foreign_files": list(self.foreign_files),
            "not_written": dict(self.not_written),
        }


def recover_store(store: StoreSteps) -> RecoveryReport:
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
        store._fsync_directory("recover", "*")
    return report


def _remove_orphan(
    store: StoreSteps, job_id: str | None, temp_name: str, report: RecoveryReport
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
    except OSError as error:  # the job itself may be fine: this is about the temp file only
        report.not_written[job_id] = f"cannot remove temp file {temp_name}: {os_error(error)}"
    except DurabilityError as error:  # no lock file could be made (a read-only store)
        report.not_written[job_id] = f"cannot remove temp file {temp_name}: {error}"


def _recover_job(store: StoreSteps, job_id: str, report: RecoveryReport) -> None:
    try:
        with store._locked(job_id):
            main = read_state(job_path(store._root, job_id))
            backup = read_state(backup_path(store._root, job_id))
            if main.decoded is None and backup.decoded is not None:
                version = store._next_version(job_id, main)
                body = encode_job_body(backup.decoded.job)
                store._install(job_id, encode_file(body, version), version=version, rotate=False)
                store._fsync_directory("repair", job_id)
                report.repaired_from_backup.append(job_id)
                main = read_state(job_path(store._root, job_id))
            elif main.decoded is None:
                if main.problem and "another program" in main.problem:
                    report.foreign_files.append(job_id)
                report.unreadable[job_id] = describe_both(main, backup)
                return
            elif not backup.is_missing and backup.decoded is None:
                _rewrite_backup(store, job_id, main)
                report.backups_rewritten.append(job_id)
            assert main.decoded is not None
            if is_abandoned(main.decoded.job):
                job = dict(main.decoded.job)
                job.update(abandonment_changes(job))
                version = store._next_version(job_id, main)
                body = encode_file(encode_job_body(job), version)
                # Now a finished job: the backup becomes a second copy of it.
                store._install(job_id, body, version=version, rotate=True, backup_as_well=True)
                store._fsync_directory("recovery", job_id)
                report.abandoned_jobs_failed.append(job_id)
    except DurabilityError as error:  # the job was read; only the change could not be written
        log.warning("recover: job %r left as it was: %s", job_id, error)
        report.not_written[job_id] = str(error)
    except Exception as error:  # one bad job must not stop the start-up of the service
        log.exception("recover: job %r", job_id)
        report.unreadable[job_id] = f"recovery failed: {type(error).__name__}: {error}"


def _rewrite_backup(store: StoreSteps, name: str, main: FileState) -> None:
    """Replace a damaged backup with a copy of the good job file (same version)."""
    assert main.raw is not None
    store._write_backup_copy(name, main.raw)
    store._fsync_directory("backup rewrite", name)
