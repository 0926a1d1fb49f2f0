"""Each hardened store driven by Hypothesis against a model of what it must contain.

The SQLite and PostgreSQL stores are plain registers: the model is a dict holding the last write.

The file store keeps two files per job, and the model keeps both: the job file and the backup,
each either a job, ``DAMAGED`` or ``MISSING``. Its rules, read from ``file_store.py``:

* a save (or update) rotates the job file into the backup only when the job file is good, so a
  damaged job file never replaces a good backup;
* the backup becomes a copy of the new version instead when the new version is finished
  (status ``done`` or ``error``: the version before would bring it back to life) and when no
  good copy is left to keep (the first save, or both files bad);
* ``get_job`` of a damaged or missing job file serves the backup with a ``_recovered`` marker and
  repairs the job file from it, so the job reverts to the backup's version (the backup stays);
* with no readable copy left, ``get_job`` returns ``{"id", "status": "unknown", "error"}``, and
  ``None`` only when neither file exists;
* ``update_job`` merges into the job file, else into the backup; it raises ``JobNotFoundError``
  when neither file exists and ``JobUnreadableError`` when neither can be read;
* ``recover()`` repairs job files from backups, rewrites damaged backups from job files, and fails
  abandoned jobs (a save of the failed job, so the old job file becomes the backup).

An invariant decodes both files of every job after each step, so a wrong backup is caught even
before a read would reveal it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from strategies import (
    FEW_JOB_IDS,
    Damage,
    changes,
    damages,
    few_job_ids,
    is_abandoned_oracle,
    jobs,
    without_marker,
)

from durable_jobs import JobNotFoundError, JobUnreadableError, open_store
from durable_jobs.encoding import (
    RECOVERED_KEY,
    DamagedFileError,
    decode_file,
    encode_file,
    encode_job_body,
)

MISSING = "<missing>"
DAMAGED = "<damaged>"
FileCopy = dict[str, Any] | str  # a job, MISSING or DAMAGED

FILE_SETTINGS = settings(max_examples=100, stateful_step_count=40, deadline=None)
SQLITE_SETTINGS = settings(max_examples=80, stateful_step_count=40, deadline=None)
POSTGRES_SETTINGS = settings(max_examples=20, stateful_step_count=25, deadline=None)


# ------------------------------------------------------------------------------ models


class RegisterModel:
    """A database store: every job is exactly its last write."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}

    def save(self, job_id: str, job: dict[str, Any]) -> None:
        self.jobs[job_id] = without_marker(job)

    def read(self, job_id: str) -> tuple[str, dict[str, Any] | None]:
        job = self.jobs.get(job_id)
        return ("none", None) if job is None else ("job", job)

    def update(self, job_id: str, job_changes: dict[str, Any]) -> dict[str, Any] | type:
        if job_id not in self.jobs:
            return JobNotFoundError
        self.jobs[job_id] = without_marker({**self.jobs[job_id], **job_changes})
        return self.jobs[job_id]

    def delete(self, job_id: str) -> bool:
        return self.jobs.pop(job_id, None) is not None

    def ids(self) -> list[str]:
        return sorted(self.jobs)

    def recover(self) -> dict[str, list[str]]:
        failed = [job_id for job_id in self.ids() if is_abandoned_oracle(self.jobs[job_id])]
        return {"abandoned_jobs_failed": failed, "unreadable": []}

    def current(self, job_id: str) -> dict[str, Any]:
        return self.jobs[job_id]

    def fail(self, job_id: str, failed_job: dict[str, Any]) -> None:
        self.jobs[job_id] = failed_job


class FileModel:
    """The file store: a job file and a backup per job, each a job, DAMAGED or MISSING."""

    def __init__(self) -> None:
        self.main: dict[str, FileCopy] = {}
        self.backup: dict[str, FileCopy] = {}
        self.temp_files: set[str] = set()

    def files(self, job_id: str) -> tuple[FileCopy, FileCopy]:
        return self.main.get(job_id, MISSING), self.backup.get(job_id, MISSING)

    def install(self, job_id: str, job: dict[str, Any]) -> None:
        """A save under the lock: rotate a *good* job file into the backup, then write."""
        main, backup = self.files(job_id)
        new = without_marker(job)
        status = new.get("status")
        finished = isinstance(status, str) and status in ("done", "error")
        if finished or not (isinstance(main, dict) or isinstance(backup, dict)):
            self.backup[job_id] = new  # a second copy of the new version
        elif isinstance(main, dict):
            self.backup[job_id] = main
        self.main[job_id] = new

    def save(self, job_id: str, job: dict[str, Any]) -> None:
        self.install(job_id, job)

    def read(self, job_id: str) -> tuple[str, dict[str, Any] | None]:
        main, backup = self.files(job_id)
        if isinstance(main, dict):
            return "job", main
        if isinstance(backup, dict):
            self.main[job_id] = backup  # the repair: the job reverts to the backup's version
            return "recovered", backup
        if main == MISSING and backup == MISSING:
            return "none", None
        return "error", None

    def update(self, job_id: str, job_changes: dict[str, Any]) -> dict[str, Any] | type:
        main, backup = self.files(job_id)
        source = main if isinstance(main, dict) else backup
        if not isinstance(source, dict):
            both_missing = main == MISSING and backup == MISSING
            return JobNotFoundError if both_missing else JobUnreadableError
        self.install(job_id, {**source, **job_changes})
        return self.main[job_id]  # type: ignore[return-value]

    def delete(self, job_id: str) -> bool:
        existed = self.files(job_id) != (MISSING, MISSING)
        self.main[job_id] = self.backup[job_id] = MISSING
        return existed

    def damage(self, job_id: str, which: str, damage: Damage) -> None:
        copies = self.main if which == "main" else self.backup
        if copies.get(job_id, MISSING) != MISSING:
            copies[job_id] = MISSING if damage.kind == "remove" else DAMAGED

    def kill_writer(self, job_id: str, temp_name: str, *, after_first_rename: bool) -> bool:
        """A writer died in ``_install``; True if it got as far as renaming the job file."""
        self.temp_files.add(temp_name)
        main, _ = self.files(job_id)
        if after_first_rename and isinstance(main, dict):
            self.backup[job_id], self.main[job_id] = main, MISSING
            return True
        return False  # it only renames a good job file away

    def ids(self) -> list[str]:
        return sorted(
            job_id
            for job_id in set(self.main) | set(self.backup)
            if self.files(job_id) != (MISSING, MISSING)
        )

    def recover(self) -> dict[str, list[str]]:
        report: dict[str, list[str]] = {
            "temp_files_removed": sorted(self.temp_files),
            "repaired_from_backup": [],
            "backups_rewritten": [],
            "abandoned_jobs_failed": [],
            "unreadable": [],
        }
        self.temp_files.clear()
        for job_id in self.ids():
            main, backup = self.files(job_id)
            if not isinstance(main, dict) and isinstance(backup, dict):
                self.main[job_id] = main = backup  # written without rotating the bad job file
                report["repaired_from_backup"].append(job_id)
            elif not isinstance(main, dict):
                report["unreadable"].append(job_id)
                continue
            elif backup == DAMAGED:
                self.backup[job_id] = main
                report["backups_rewritten"].append(job_id)
            if is_abandoned_oracle(main):
                report["abandoned_jobs_failed"].append(job_id)
        return report

    def current(self, job_id: str) -> dict[str, Any]:
        main = self.main[job_id]
        assert isinstance(main, dict)
        return main

    def fail(self, job_id: str, failed_job: dict[str, Any]) -> None:
        self.install(job_id, failed_job)


# ------------------------------------------------------------------------------ machines


def check_read(job_id: str, actual: Any, expected: tuple[str, dict[str, Any] | None]) -> None:
    """Compare a ``get_job`` result with the model's prediction."""
    kind, job = expected
    if kind == "none":
        assert actual is None
    elif kind == "job":
        assert actual == job
    elif kind == "recovered":
        assert isinstance(actual, dict), actual
        marker = actual.get(RECOVERED_KEY)
        assert isinstance(marker, str) and marker, f"no {RECOVERED_KEY} marker: {actual!r}"
        assert without_marker(actual) == job
    else:
        assert isinstance(actual, dict) and set(actual) == {"id", "status", "error"}, actual
        assert actual["id"] == job_id and actual["status"] == "unknown"
        assert isinstance(actual["error"], str) and actual["error"]


def report_as_lists(report: Any) -> dict[str, list[str]]:
    """Any backend's recovery report as sorted id lists (PostgreSQL does not sort)."""
    as_dict = report.as_dict() if hasattr(report, "as_dict") else dict(report)
    return {key: sorted(value) for key, value in as_dict.items()}


def register_machine(*, portable: bool) -> type[RuleBasedStateMachine]:
    """The rules every backend shares, drawing jobs ``portable`` to PostgreSQL or not."""

    class StoreMachine(RuleBasedStateMachine):
        def __init__(self, store: Any, model: Any) -> None:
            super().__init__()
            self.store = store
            self.model = model

        @initialize(
            saves=st.lists(
                st.tuples(few_job_ids(), jobs(portable=portable)), min_size=2, max_size=6
            )
        )
        def save_a_few_jobs(self, saves: list[tuple[str, dict[str, Any]]]) -> None:
            # Start from jobs that exist, most with a backup: an empty store explores little.
            for job_id, job in saves:
                self.save(job_id, job)

        @rule(job_id=few_job_ids(), job=jobs(portable=portable))
        def save(self, job_id: str, job: dict[str, Any]) -> None:
            self.store.save_job(job_id, job)
            self.model.save(job_id, job)

        @rule(job_id=few_job_ids())
        def get(self, job_id: str) -> None:
            expected = self.model.read(job_id)
            event(f"get: {expected[0]}")
            check_read(job_id, self.store.get_job(job_id), expected)

        @rule(job_id=few_job_ids(), job_changes=changes(portable=portable))
        def update(self, job_id: str, job_changes: dict[str, Any]) -> None:
            expected = self.model.update(job_id, job_changes)
            event(f"update: {getattr(expected, '__name__', 'merged')}")
            if isinstance(expected, type):
                with pytest.raises(expected):
                    self.store.update_job(job_id, job_changes)
            else:
                assert self.store.update_job(job_id, job_changes) == expected

        @rule(job_id=few_job_ids())
        def delete(self, job_id: str) -> None:
            assert self.store.delete_job(job_id) == self.model.delete(job_id)

        @rule()
        def recover(self) -> None:
            actual = report_as_lists(self.store.recover())
            expected = self.model.recover()
            event(f"recover: {sorted(key for key, ids in expected.items() if ids)}")
            for key, ids in expected.items():
                assert actual.get(key, []) == ids, f"{key}: {actual!r}"
            assert set(actual.get("foreign_files", [])) <= set(actual.get("unreadable", []))
            for job_id in expected["abandoned_jobs_failed"]:
                self.model.fail(job_id, self.check_failed(job_id))

        def check_failed(self, job_id: str) -> dict[str, Any]:
            """The job ``recover`` failed: the old fields, status error, a reason, a time."""
            failed = self.store.get_job(job_id)
            assert failed["status"] == "error"
            assert failed["error"].startswith("abandoned: ")
            assert isinstance(failed["recovered_at"], float)
            reason = {key: failed[key] for key in ("status", "error", "recovered_at")}
            assert failed == {**self.model.current(job_id), **reason}
            return failed

        @invariant()
        def listed_jobs_are_the_models(self) -> None:
            assert self.store.list_jobs() == self.model.ids()

        def teardown(self) -> None:
            if hasattr(self.store, "drop"):
                self.store.drop()
            self.store.close()

    return StoreMachine


class FileStoreMachine(register_machine(portable=False)):  # type: ignore[misc]
    """The file store, with damage to its job files and backups as extra rules."""

    def __init__(self, base: Path) -> None:
        self.directory = Path(tempfile.mkdtemp(dir=base))
        super().__init__(open_store(f"file://{self.directory}"), FileModel())

    @rule(job_id=few_job_ids(), damage=damages())
    def damage_job_file(self, job_id: str, damage: Damage) -> None:
        self._damage(job_id, "main", damage)

    @rule(job_id=few_job_ids(), damage=damages())
    def damage_backup(self, job_id: str, damage: Damage) -> None:
        self._damage(job_id, "backup", damage)

    def _damage(self, job_id: str, which: str, damage: Damage) -> None:
        main, backup = self.model.files(job_id)
        if damage.kind == "bitflip" and (main if which == "main" else backup) == DAMAGED:
            # The same bit flipped twice is the file as it was, not damage: CI's Hypothesis
            # found it (bitflip seed 0 on a damaged backup, twice). A damaged file stays damaged.
            return
        damage.apply(self.store.paths_for(job_id)[which])
        self.model.damage(job_id, which, damage)

    @rule(job_id=few_job_ids(), main_damage=damages(), backup_damage=damages())
    def damage_both_files(self, job_id: str, main_damage: Damage, backup_damage: Damage) -> None:
        self.damage_job_file(job_id, main_damage)
        self.damage_backup(job_id, backup_damage)

    @rule(job_id=few_job_ids(), damage=damages())
    def read_a_damaged_job_file(self, job_id: str, damage: Damage) -> None:
        # The incident's sequence: the job file goes bad, then the UI polls the job.
        self.damage_job_file(job_id, damage)
        self.get(job_id)

    @rule(job_id=few_job_ids(), job=jobs(), after_first_rename=st.booleans())
    def kill_a_writer_mid_save(
        self, job_id: str, job: dict[str, Any], after_first_rename: bool
    ) -> None:
        # What a writer killed inside _install leaves: its fsynced temp file, and, if it got
        # that far, the job file already renamed to the backup.
        paths = self.store.paths_for(job_id)
        temp = paths["main"].with_name(f".{job_id}.json.{secrets.token_hex(6)}.tmp")
        temp.write_bytes(encode_file(encode_job_body(job), 1))
        if self.model.kill_writer(job_id, temp.name, after_first_rename=after_first_rename):
            os.replace(paths["main"], paths["backup"])

    @invariant()
    def files_hold_what_the_model_says(self) -> None:
        for job_id in FEW_JOB_IDS:
            paths = self.store.paths_for(job_id)
            main, backup = self.model.files(job_id)
            check_file(paths["main"], main)
            check_file(paths["backup"], backup)

    def teardown(self) -> None:
        super().teardown()
        shutil.rmtree(self.directory, ignore_errors=True)


def check_file(path: Path, expected: FileCopy) -> None:
    """Decode ``path`` directly (no repair, no side effect) and compare with the model."""
    if expected == MISSING:
        assert not path.exists(), f"{path.name} should not exist"
        return
    data = path.read_bytes()
    if expected == DAMAGED:
        with pytest.raises(DamagedFileError):
            decode_file(data)
    else:
        assert decode_file(data).job == expected, f"{path.name} holds the wrong version"


class SqliteStoreMachine(register_machine(portable=False)):  # type: ignore[misc]
    def __init__(self, base: Path) -> None:
        self.directory = Path(tempfile.mkdtemp(dir=base))
        super().__init__(open_store(f"sqlite://{self.directory}/jobs.db"), RegisterModel())

    def teardown(self) -> None:
        super().teardown()
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresStoreMachine(register_machine(portable=True)):  # type: ignore[misc]
    def __init__(self, url: str) -> None:
        super().__init__(open_store(url), RegisterModel())


def run_machine(factory: Callable[[], RuleBasedStateMachine], machine_settings: Any) -> None:
    run_state_machine_as_test(factory, settings=machine_settings)


def test_file_store_behaves_like_its_two_file_model(tmp_path: Path) -> None:
    run_machine(lambda: FileStoreMachine(tmp_path), FILE_SETTINGS)


def test_sqlite_store_behaves_like_a_dict(tmp_path: Path) -> None:
    run_machine(lambda: SqliteStoreMachine(tmp_path), SQLITE_SETTINGS)


def test_postgres_store_behaves_like_a_dict(postgres_url: str) -> None:
    run_machine(
        lambda: PostgresStoreMachine(f"{postgres_url}?table=t_{secrets.token_hex(6)}"),
        POSTGRES_SETTINGS,
    )
