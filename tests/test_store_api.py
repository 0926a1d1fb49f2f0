"""The store's contract as an application sees it, and what it does with bad and hostile input.

Every hardened backend runs the same tests through the ``store`` fixture. File-only behaviour
(foreign files, a full disk) uses ``make_store("file")``. A full disk is a real one: a 64 KiB
tmpfs mounted for the test, so ``write`` really fails with ``ENOSPC``.
"""

from __future__ import annotations

import datetime
import errno
import math
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from strategies import hostile_strings, is_valid_job_id_oracle, job_ids, jobs, without_marker
from tmpfs import mounted_tmpfs

import durable_jobs
from durable_jobs import (
    BasicJobStore,
    DurabilityError,
    InvalidJobError,
    InvalidJobIdError,
    JobNotFoundError,
    JobStore,
    JobStoreError,
    JobUnreadableError,
    StoreConfigError,
    open_store,
)
from durable_jobs.encoding import decode_file
from durable_jobs.file_store import FileJobStore
from durable_jobs.legacy import NaiveJobStore, Phase470JobStore
from durable_jobs.sqlite_store import SqliteJobStore

MakeStore = Callable[[str], Any]


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative to it: what a test compares before and after."""
    return {str(path.relative_to(root)) for path in root.rglob("*")}


# ------------------------------------------------------------------------------ the contract


def test_saved_job_reads_back_equal(store: Any) -> None:
    job = {"status": "queued", "progress": 0.0, "rows": [1, 2], "meta": {"name": "people.csv"}}
    store.save_job("a1", job)
    assert store.get_job("a1") == job


def test_a_job_that_never_existed_reads_as_none(store: Any) -> None:
    assert store.get_job("never-saved") is None


def test_save_replaces_the_whole_job(store: Any) -> None:
    store.save_job("a1", {"status": "queued", "progress": 0.5})
    store.save_job("a1", {"status": "done"})
    assert store.get_job("a1") == {"status": "done"}


def test_update_merges_changes_and_returns_the_job(store: Any) -> None:
    store.save_job("a1", {"status": "queued", "rows": 10})
    assert store.update_job("a1", {"status": "running", "progress": 0.5}) == {
        "status": "running",
        "rows": 10,
        "progress": 0.5,
    }
    assert store.get_job("a1") == {"status": "running", "rows": 10, "progress": 0.5}


def test_update_is_a_shallow_merge(store: Any) -> None:
    store.save_job("a1", {"meta": {"a": 1, "b": 2}})
    store.update_job("a1", {"meta": {"c": 3}})
    assert store.get_job("a1") == {"meta": {"c": 3}}


def test_updating_a_missing_job_raises_job_not_found(store: Any) -> None:
    with pytest.raises(JobNotFoundError, match="'ghost' does not exist") as caught:
        store.update_job("ghost", {"status": "running"})
    assert isinstance(caught.value, JobStoreError) and isinstance(caught.value, KeyError)
    assert store.get_job("ghost") is None


def test_delete_removes_the_job_and_says_whether_it_existed(store: Any) -> None:
    store.save_job("a1", {"status": "done"})
    store.save_job("a1", {"status": "done", "rows": 3})  # the file store now has a backup
    assert store.delete_job("a1") is True
    assert store.get_job("a1") is None
    assert store.delete_job("a1") is False
    assert store.list_jobs() == []


def test_list_jobs_is_sorted(store: Any) -> None:
    for job_id in ("b", "a", "c-1", "A"):
        store.save_job(job_id, {"status": "queued"})
    assert store.list_jobs() == ["A", "a", "b", "c-1"]


def test_the_recovered_marker_is_never_stored(store: Any) -> None:
    store.save_job("a1", {"status": "done", "_recovered": "served the backup"})
    assert store.get_job("a1") == {"status": "done"}
    assert store.update_job("a1", {"_recovered": "again"}) == {"status": "done"}
    assert store.get_job("a1") == {"status": "done"}


def test_the_returned_job_is_a_copy(store: Any) -> None:
    store.save_job("a1", {"status": "queued", "tags": ["x"]})
    store.get_job("a1")["tags"].append("changed")
    assert store.get_job("a1") == {"status": "queued", "tags": ["x"]}


def test_a_large_job_round_trips(store: Any) -> None:
    job = {"status": "done", "rows": [{"n": n, "text": "x" * 100} for n in range(5000)]}
    store.save_job("big", job)
    assert store.get_job("big") == job


def test_every_hardened_backend_is_a_complete_job_store(store: Any) -> None:
    assert isinstance(store, JobStore)


@settings(max_examples=40, deadline=None)
@given(job_id=job_ids(), job=jobs())
def test_any_valid_id_and_json_job_round_trip_in_the_file_store(
    job_id: str, job: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = FileJobStore(directory)
        store.save_job(job_id, job)
        assert store.get_job(job_id) == without_marker(job)
        assert store.list_jobs() == [job_id]


def test_nul_and_lone_surrogates_round_trip_in_the_file_and_sqlite_stores(
    make_store: MakeStore,
) -> None:
    job = {"text": "a\x00b\ud800c", "\udfffkey": "v"}
    for backend in ("file", "sqlite"):
        store = make_store(backend)
        store.save_job("a1", job)
        assert store.get_job("a1") == job


@pytest.mark.parametrize(
    ("job", "what"),
    [({"text": "a\x00b"}, "NUL"), ({"text": "a\ud800b"}, "lone surrogate")],
    ids=["nul", "lone-surrogate"],
)
def test_postgres_refuses_what_jsonb_cannot_hold_as_an_invalid_job(
    make_store: MakeStore, job: dict[str, Any], what: str
) -> None:
    store = make_store("postgres")
    store.save_job("a1", {"status": "queued"})
    with pytest.raises(InvalidJobError, match=what):
        store.save_job("a1", job)
    with pytest.raises(InvalidJobError, match=what):
        store.update_job("a1", job)
    assert store.get_job("a1") == {"status": "queued"}


def test_postgres_keeps_a_valid_surrogate_pair(make_store: MakeStore) -> None:
    store = make_store("postgres")
    store.save_job("a1", {"text": "emoji \U0001f600", "escaped": "\\ud800"})
    assert store.get_job("a1") == {"text": "emoji \U0001f600", "escaped": "\\ud800"}


# ------------------------------------------------------------------------------ hostile ids

HOSTILE_IDS = [
    pytest.param("../x", id="parent"),
    pytest.param("..", id="dotdot"),
    pytest.param("a/b", id="slash"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("", id="empty"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("x" * 129, id="129-chars"),
    pytest.param(".hidden", id="dot-prefix"),
    pytest.param("a\n", id="trailing-newline"),
    pytest.param("a b", id="space"),
    pytest.param("café", id="non-ascii"),
    pytest.param("a\\b", id="backslash"),
    pytest.param(5, id="int"),
    pytest.param(None, id="None"),
    pytest.param(b"abc", id="bytes"),
    pytest.param(["a"], id="list"),
]


def call_every_operation(store: Any, job_id: Any) -> list[BaseException]:
    """Call save, get, update and delete with ``job_id``; return what each raised."""
    calls: list[Callable[[], object]] = [
        lambda: store.save_job(job_id, {"status": "queued"}),
        lambda: store.get_job(job_id),
        lambda: store.update_job(job_id, {"status": "running"}),
        lambda: store.delete_job(job_id),
    ]
    raised: list[BaseException] = []
    for call in calls:
        try:
            call()
        except Exception as error:
            raised.append(error)
    return raised


@pytest.mark.parametrize("job_id", HOSTILE_IDS)
def test_a_hostile_id_is_refused_by_every_operation_and_creates_nothing(
    store: Any, tmp_path: Path, job_id: Any
) -> None:
    store.save_job("neighbour", {"status": "queued"})
    before = tree(tmp_path)
    raised = call_every_operation(store, job_id)
    assert [type(error) for error in raised] == [InvalidJobIdError] * 4
    for error in raised:
        assert isinstance(error, JobStoreError) and isinstance(error, ValueError)
        assert "invalid job id" in str(error)
    assert tree(tmp_path) == before
    assert store.list_jobs() == ["neighbour"]


def test_the_message_says_what_is_wrong_with_the_id(store: Any) -> None:
    with pytest.raises(InvalidJobIdError, match="129 characters, at most 128"):
        store.get_job("x" * 129)
    with pytest.raises(InvalidJobIdError, match="character '/' is not allowed"):
        store.get_job("a/b")
    with pytest.raises(InvalidJobIdError, match="expected a string, got int"):
        store.get_job(5)


def test_an_id_of_128_characters_is_accepted(store: Any) -> None:
    store.save_job("x" * 128, {"status": "queued"})
    assert store.get_job("x" * 128) == {"status": "queued"}


LOOK_ALIKE_IDS = ("a1", "a1.json", "a1.json.bak", "a1.bak", "A1", "a1.", "a1..json", "-a1", "_a1")


def test_ids_that_look_like_store_files_or_each_other_keep_their_own_state(store: Any) -> None:
    """Dots are allowed after the first character: ``a1.json.bak`` is a job, not a1's backup."""
    for number, job_id in enumerate(LOOK_ALIKE_IDS):
        store.save_job(job_id, {"status": "queued", "n": number})
        store.save_job(job_id, {"status": "running", "n": number})  # a backup for each, too
    for number, job_id in enumerate(LOOK_ALIKE_IDS):
        assert store.get_job(job_id) == {"status": "running", "n": number}, job_id
    assert sorted(store.list_jobs()) == sorted(LOOK_ALIKE_IDS)


def test_paths_for_refuses_a_hostile_id(make_store: MakeStore) -> None:
    with pytest.raises(InvalidJobIdError):
        make_store("file").paths_for("../x")


@settings(max_examples=150, deadline=None)
@given(job_id=hostile_strings())
def test_no_string_id_writes_outside_the_file_store(job_id: str) -> None:
    with tempfile.TemporaryDirectory() as parent:
        root = Path(parent) / "jobs"
        store = FileJobStore(root)
        before = tree(Path(parent))
        raised = call_every_operation(store, job_id)
        if is_valid_job_id_oracle(job_id):
            assert raised == []
            created = tree(Path(parent)) - before
            assert all(path.startswith("jobs/") for path in created), created
        else:
            assert [type(error) for error in raised] == [InvalidJobIdError] * 4
            assert tree(Path(parent)) == before


# ------------------------------------------------------------------------------ bad jobs


def circular_job() -> dict[str, Any]:
    job: dict[str, Any] = {"status": "queued"}
    job["parent"] = job
    return job


BAD_JOBS = [
    pytest.param([("status", "done")], id="list"),
    pytest.param("status=done", id="str"),
    pytest.param(None, id="None"),
    pytest.param({"tags": {"a", "b"}}, id="set"),
    pytest.param({"at": datetime.datetime(2025, 12, 25, 12, 0)}, id="datetime"),
    pytest.param({"progress": math.nan}, id="nan"),
    pytest.param({"progress": -math.inf}, id="infinity"),
    pytest.param({"data": b"\x00\x01"}, id="bytes"),
    pytest.param(circular_job(), id="circular"),
]


@pytest.mark.parametrize("job", BAD_JOBS)
def test_a_job_json_cannot_carry_is_refused_and_nothing_is_written(
    store: Any, tmp_path: Path, job: Any
) -> None:
    before = tree(tmp_path)
    with pytest.raises(InvalidJobError) as caught:
        store.save_job("a1", job)
    assert isinstance(caught.value, JobStoreError) and isinstance(caught.value, ValueError)
    assert store.get_job("a1") is None
    assert store.list_jobs() == []
    assert tree(tmp_path) == before


@pytest.mark.parametrize("job", BAD_JOBS)
def test_a_bad_save_or_update_leaves_the_previous_version(store: Any, job: Any) -> None:
    store.save_job("a1", {"status": "queued"})
    store.save_job("a1", {"status": "running"})
    with pytest.raises(InvalidJobError):
        store.save_job("a1", job)
    with pytest.raises(InvalidJobError):
        store.update_job("a1", job)
    assert store.get_job("a1") == {"status": "running"}


def test_a_bad_update_of_a_missing_job_is_refused_as_invalid_first(store: Any) -> None:
    with pytest.raises(InvalidJobError):
        store.update_job("ghost", {"tags": {"a"}})


# ------------------------------------------------------------------------------ foreign files


def test_a_foreign_json_file_reads_as_an_error_dict_naming_another_program(
    make_store: MakeStore,
) -> None:
    store = make_store("file")
    store.paths_for("a1")["main"].write_text('{"a": 1}')
    job = store.get_job("a1")
    assert job is not None and set(job) == {"id", "status", "error"}
    assert job["id"] == "a1" and job["status"] == "unknown"
    assert "another program" in job["error"]


def test_a_foreign_file_cannot_be_updated_but_can_be_overwritten(make_store: MakeStore) -> None:
    store = make_store("file")
    paths = store.paths_for("a1")
    paths["main"].write_text('{"a": 1}')
    with pytest.raises(JobUnreadableError, match="another program"):
        store.update_job("a1", {"status": "running"})
    store.save_job("a1", {"status": "queued"})
    assert store.get_job("a1") == {"status": "queued"}
    # The foreign file was not kept as a "good" backup: with no good version to keep, the
    # backup is a second copy of the new one.
    assert decode_file(paths["backup"].read_bytes()).job == {"status": "queued"}


def test_an_unreadable_job_file_reads_as_an_error_dict(make_store: MakeStore) -> None:
    store = make_store("file")
    store.paths_for("a1")["main"].mkdir()  # read() fails with EISDIR, as a bad sector with EIO
    job = store.get_job("a1")
    assert job is not None and set(job) == {"id", "status", "error"}
    assert "cannot be read" in job["error"] and "EISDIR" in job["error"]
    with pytest.raises(DurabilityError, match="rename failed"):
        store.save_job("a1", {"status": "queued"})


def test_an_unreadable_job_file_is_served_from_the_backup(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "queued"})
    store.save_job("a1", {"status": "running"})
    main = store.paths_for("a1")["main"]
    main.unlink()
    main.mkdir()
    job = store.get_job("a1")
    assert job is not None and job.pop("_recovered").startswith("job file: cannot be read")
    assert job == {"status": "queued"}
    assert store.get_job("a1")["_recovered"].endswith("repairing the job file failed, see the log")


def test_a_damaged_header_claiming_a_huge_version_does_not_poison_the_next_save(
    make_store: MakeStore,
) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "queued"})
    main = store.paths_for("a1")["main"]
    header = b'{"format":"durable_jobs/1","version":9999999999999999999,"crc32":"00000000"'
    main.write_bytes(header + b',"job":{}}\n')
    store.save_job("a1", {"status": "running"})  # acknowledged, so it must be readable
    assert store.get_job("a1") == {"status": "running"}
    assert decode_file(main.read_bytes()).version < 10**19


def test_stray_files_in_the_store_directory_are_not_jobs(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "queued"})
    for name in ("notes.txt", "café.json", ".hidden.json", "bad id.json"):
        (store.root / name).write_text("{}")
    assert store.list_jobs() == ["a1"]


# ------------------------------------------------------------------------------ module API


@pytest.fixture
def default_store_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the module-level store, and restore the old one after the test."""
    monkeypatch.setattr(durable_jobs, "_default_store", None)


def test_module_functions_use_the_store_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_store_reset: None
) -> None:
    monkeypatch.setenv("DURABLE_JOBS_URL", f"file://{tmp_path}/env-jobs")
    durable_jobs.save_job("a1", {"status": "queued"})
    assert (tmp_path / "env-jobs" / "a1.json").exists()
    assert durable_jobs.get_job("a1") == {"status": "queued"}
    assert durable_jobs.update_job("a1", {"status": "running"}) == {"status": "running"}
    assert durable_jobs.list_jobs() == ["a1"]
    assert durable_jobs.recover().abandoned_jobs_failed == ["a1"]
    assert durable_jobs.get_job("a1")["status"] == "error"
    assert durable_jobs.delete_job("a1") is True
    assert durable_jobs.get_job("never") is None
    assert durable_jobs.default_store() is durable_jobs.default_store()


def test_module_functions_default_to_data_jobs_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_store_reset: None
) -> None:
    monkeypatch.delenv("DURABLE_JOBS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    durable_jobs.save_job("a1", {"status": "queued"})
    assert (tmp_path / "data" / "jobs" / "a1.json").exists()


def test_module_functions_use_an_sqlite_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_store_reset: None
) -> None:
    monkeypatch.setenv("DURABLE_JOBS_URL", f"sqlite://{tmp_path}/jobs.db")
    durable_jobs.save_job("a1", {"status": "queued"})
    assert isinstance(durable_jobs.default_store(), SqliteJobStore)
    assert durable_jobs.get_job("a1") == {"status": "queued"}
    durable_jobs.default_store().close()


# ------------------------------------------------------------------------------ open_store


def saves_into(store: Any, directory: Path) -> bool:
    store.save_job("probe", {"status": "queued"})
    return (directory / "probe.json").exists()


def test_file_url_with_three_slashes_is_an_absolute_path(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/abs")
    assert isinstance(store, FileJobStore) and saves_into(store, tmp_path / "abs")


def test_file_url_with_localhost_is_an_absolute_path(tmp_path: Path) -> None:
    assert saves_into(open_store(f"file://localhost{tmp_path}/lh"), tmp_path / "lh")


def test_file_url_without_slashes_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("file:rel/jobs")
    monkeypatch.chdir("/")  # the store keeps the directory it was opened in
    assert saves_into(store, tmp_path / "rel" / "jobs")


def test_file_url_decodes_percent_escapes(tmp_path: Path) -> None:
    assert saves_into(open_store(f"file://{tmp_path}/with%20space"), tmp_path / "with space")


@pytest.mark.parametrize("as_path", [True, False], ids=["Path", "str"])
def test_a_plain_path_is_a_file_store(tmp_path: Path, as_path: bool) -> None:
    directory = tmp_path / "plain"
    store = open_store(directory if as_path else str(directory))
    assert isinstance(store, FileJobStore) and saves_into(store, directory)


def test_a_relative_plain_path_is_a_file_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert saves_into(open_store("relative/jobs"), tmp_path / "relative" / "jobs")


def test_sqlite_url_opens_the_database_file(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path}/x.db")
    assert isinstance(store, SqliteJobStore)
    store.save_job("a1", {"status": "queued"})
    assert (tmp_path / "x.db").exists()
    store.close()


def test_sqlite_url_without_slashes_is_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:rel.db")
    store.save_job("a1", {"status": "queued"})
    assert (tmp_path / "rel.db").exists()
    store.close()


def test_scheme_is_case_insensitive(tmp_path: Path) -> None:
    assert isinstance(open_store(f"FILE://{tmp_path}/upper"), FileJobStore)


def test_reference_variants_open_by_scheme(tmp_path: Path) -> None:
    phase470 = open_store(f"phase470://{tmp_path}/p")
    naive = open_store(f"naive://{tmp_path}/n")
    assert isinstance(phase470, Phase470JobStore) and isinstance(naive, NaiveJobStore)
    assert isinstance(phase470, BasicJobStore) and not isinstance(phase470, JobStore)


def test_an_unknown_scheme_is_refused_naming_the_accepted_forms() -> None:
    with pytest.raises(StoreConfigError) as caught:
        open_store("redis://localhost/0")
    message = str(caught.value)
    assert "unknown store URL scheme 'redis'" in message
    for form in ("file:///dir", "sqlite:///file.db", "postgresql://user@host/db"):
        assert form in message
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, JobStoreError)


@pytest.mark.parametrize("url", ["file://host/x", "sqlite://db.example.com/x.db"])
def test_a_file_url_naming_a_host_is_refused(url: str) -> None:
    with pytest.raises(StoreConfigError, match="names a host"):
        open_store(url)


@pytest.mark.parametrize("url", ["file://", "file:", "sqlite:", "sqlite://"])
def test_a_url_without_a_path_is_refused(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreConfigError, match="has no path"):
        open_store(url)
    assert tree(tmp_path) == set()


@pytest.mark.parametrize("url", ["", "   ", 5], ids=["empty", "blank", "int"])
def test_a_url_that_is_not_a_non_empty_string_is_refused(url: Any) -> None:
    with pytest.raises(StoreConfigError, match="non-empty string"):
        open_store(url)


def test_a_bad_postgres_table_name_is_refused_before_connecting() -> None:
    with pytest.raises(StoreConfigError, match="table="):
        open_store("postgresql://nobody@127.0.0.1:1/db?table=Robert');DROP")


def test_a_file_store_under_a_regular_file_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(DurabilityError, match="cannot create the job directory"):
        open_store(tmp_path / "a-file" / "jobs")


# ------------------------------------------------------------------------------ a full disk


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, so writes fail with ENOSPC; needs root and mount permission."""
    yield from mounted_tmpfs(tmp_path / "tiny", "64k")


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs (room for SQLite's WAL), to remount read-only."""
    yield from mounted_tmpfs(tmp_path / "tiny", "4m")


def fill_filesystem(directory: Path) -> Path:
    """Write a filler file until the file system is full; return its path."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        while True:
            os.write(fd, b"\xff" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC, error
    finally:
        os.close(fd)
    return filler


def test_a_save_on_a_full_disk_raises_durability_error_and_keeps_the_previous_version(
    tiny_filesystem: Path,
) -> None:
    store = open_store(tiny_filesystem / "jobs")
    store.save_job("a1", {"status": "queued"})
    store.save_job("a1", {"status": "running", "progress": 0.5})
    fill_filesystem(tiny_filesystem)
    with pytest.raises(DurabilityError, match="No space left") as caught:
        store.save_job("a1", {"status": "done", "rows": "x" * 8192})
    assert "previous version is intact" in str(caught.value)
    assert store.get_job("a1") == {"status": "running", "progress": 0.5}
    assert not [name for name in os.listdir(store.root) if name.endswith(".tmp")]


def test_an_update_on_a_full_disk_raises_durability_error_and_keeps_the_job(
    tiny_filesystem: Path,
) -> None:
    store = open_store(tiny_filesystem / "jobs")
    store.save_job("a1", {"status": "running"})
    fill_filesystem(tiny_filesystem)
    with pytest.raises(DurabilityError, match="No space left"):
        store.update_job("a1", {"status": "done", "rows": "x" * 8192})
    assert store.get_job("a1") == {"status": "running"}
    assert not [name for name in os.listdir(store.root) if name.endswith(".tmp")]


def test_a_new_job_on_a_full_disk_is_not_created(tiny_filesystem: Path) -> None:
    store = open_store(tiny_filesystem / "jobs")
    store.save_job("other", {"status": "queued"})  # creates the lock stripes' directory
    fill_filesystem(tiny_filesystem)
    with pytest.raises(DurabilityError, match="No space left"):
        store.save_job("a1", {"status": "queued", "rows": "x" * 8192})
    assert store.get_job("a1") is None
    assert store.list_jobs() == ["other"]


def test_saves_work_again_once_space_is_freed(tiny_filesystem: Path) -> None:
    store = open_store(tiny_filesystem / "jobs")
    store.save_job("a1", {"status": "queued"})
    filler = fill_filesystem(tiny_filesystem)
    with pytest.raises(DurabilityError):
        store.save_job("a1", {"status": "done", "rows": "x" * 8192})
    filler.unlink()
    store.save_job("a1", {"status": "done", "rows": "x" * 8192})
    assert store.get_job("a1") == {"status": "done", "rows": "x" * 8192}


# ------------------------------------------------------------------------------ SQLite out of room


def remount(mount_point: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mount_point)], check=True)


def test_sqlite_on_a_read_only_file_system_names_the_cause_and_the_fix(
    small_filesystem: Path,
) -> None:
    store = open_store(f"sqlite://{small_filesystem}/jobs.db")
    store.save_job("a1", {"status": "queued"})
    store.close()  # no file open for writing: the remount needs that
    remount(small_filesystem, "ro")
    try:
        with pytest.raises(DurabilityError, match="read-only") as caught:
            store.save_job("a1", {"status": "running"})
        assert "remount it read-write" in str(caught.value)
        with pytest.raises(StoreConfigError, match="cannot open the SQLite store"):
            open_store(f"sqlite://{small_filesystem}/new.db")
    finally:
        store.close()
        remount(small_filesystem, "rw")
    store.save_job("a1", {"status": "running"})  # writable again: the same store works
    assert store.get_job("a1") == {"status": "running"}


def test_sqlite_on_a_full_disk_raises_durability_error_naming_enospc(
    tiny_filesystem: Path,
) -> None:
    store = open_store(f"sqlite://{tiny_filesystem}/jobs.db")
    store.save_job("a1", {"status": "queued"})
    fill_filesystem(tiny_filesystem)
    with pytest.raises(DurabilityError, match=r"ENOSPC|disk I/O error|full"):
        store.save_job("big", {"status": "done", "rows": "x" * 65536})
    assert store.get_job("a1") == {"status": "queued"}


# ------------------------------------------------------------------------------ a read-only file store


def test_a_save_on_a_read_only_file_store_is_a_durability_error_naming_erofs(
    small_filesystem: Path,
) -> None:
    seeded = open_store(small_filesystem / "jobs")
    seeded.save_job("a1", {"status": "queued"})
    seeded.close()  # its lock files open for writing would make the remount fail (EBUSY)
    remount(small_filesystem, "ro")
    try:
        store = open_store(small_filesystem / "jobs")  # no lock file opened yet
        with pytest.raises(DurabilityError, match=r"EROFS|read-only") as caught:
            store.save_job("a1", {"status": "running"})
        assert "remount" in str(caught.value)
        with pytest.raises(DurabilityError, match=r"EROFS|read-only"):
            store.update_job("a1", {"status": "running"})
        with pytest.raises(DurabilityError, match=r"EROFS|read-only"):
            store.delete_job("a1")
        assert store.get_job("a1") == {"status": "queued"}
    finally:
        remount(small_filesystem, "rw")


def test_recover_on_a_read_only_file_store_calls_no_readable_job_unreadable(
    small_filesystem: Path,
) -> None:
    seeded = open_store(small_filesystem / "jobs")
    seeded.save_job("done-job", {"status": "done"})
    seeded.save_job("left-running", {"status": "running"})  # no owner: abandoned
    seeded.close()
    remount(small_filesystem, "ro")
    try:
        store = open_store(small_filesystem / "jobs")
        try:
            report = store.recover().as_dict()
        except DurabilityError as error:  # refusing to recover a read-only store is fine too
            assert "EROFS" in str(error) or "read-only" in str(error)
            return
        unreadable = report.get("unreadable", {})
        assert "done-job" not in unreadable, report
        assert "left-running" not in unreadable or "read-only" in str(unreadable), report
        assert store.get_job("done-job") == {"status": "done"}
    finally:
        remount(small_filesystem, "rw")


def test_a_running_file_store_lets_its_disk_be_remounted_read_only_and_back(
    small_filesystem: Path,
) -> None:
    store = open_store(small_filesystem / "jobs")
    for job_id in ("a1", "b2", "c3"):  # several lock stripes and the directory open, kept open
        store.save_job(job_id, {"status": "queued"})
    remount(small_filesystem, "ro")  # EBUSY if the store held a descriptor open for writing
    try:
        with pytest.raises(DurabilityError, match="EROFS") as caught:
            store.save_job("a1", {"status": "running"})
        assert "remount it read-write" in str(caught.value)
        with pytest.raises(DurabilityError, match="EROFS"):
            store.update_job("b2", {"status": "running"})
        with pytest.raises(DurabilityError, match="EROFS"):
            store.delete_job("c3")
        with pytest.raises(DurabilityError, match="EROFS"):
            store.save_job("never-saved", {"status": "queued"})  # a lock file never opened
        assert store.get_job("a1") == {"status": "queued"}
        assert store.list_jobs() == ["a1", "b2", "c3"]
    finally:
        remount(small_filesystem, "rw")
    store.save_job("a1", {"status": "running"})  # writable again: the same store carries on
    assert store.get_job("a1") == {"status": "running"}
    assert not [name for name in os.listdir(store.root) if name.endswith(".tmp")]


def test_recover_on_a_read_only_file_store_lists_the_job_it_could_not_fail_as_not_written(
    small_filesystem: Path,
) -> None:
    store = open_store(small_filesystem / "jobs")
    store.save_job("done-job", {"status": "done"})
    store.save_job("left-running", {"status": "running"})  # no owner: abandoned
    remount(small_filesystem, "ro")
    try:
        report = store.recover()
    finally:
        remount(small_filesystem, "rw")
    assert report.unreadable == {}
    assert list(report.not_written) == ["left-running"]
    assert "EROFS" in report.not_written["left-running"]
    assert store.get_job("left-running") == {"status": "running"}  # left as it was
    assert store.recover().abandoned_jobs_failed == ["left-running"]  # writable: done now
