"""``recover()``: what a store looks like after crashes, and how start-up brings it back.

Crash states are made three ways: by hand, file by file, exactly as a writer that died at a given
step would leave them; by a real child process killed with SIGKILL while it saves in a loop; and
by strace, which kills a child at an exact ``rename`` of a save. Owners are real processes too:
a child that reports its owner record and exits is a dead owner.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from strategies import Damage, dead_owner

from durable_jobs import current_owner
from durable_jobs.encoding import RECOVERED_KEY, decode_file, encode_file, encode_job_body
from durable_jobs.file_store import FileJobStore
from durable_jobs.lifecycle import process_start_time

MakeStore = Callable[[str], Any]
FORK = multiprocessing.get_context("fork")
TIMEOUT = 30.0


def temp_files(store: FileJobStore) -> list[str]:
    return sorted(name for name in os.listdir(store.root) if name.endswith(".tmp"))


def write_orphan_temp(store: FileJobStore, job_id: str, data: bytes) -> Path:
    """A temp file named as ``_write_temp`` names it, left behind by a writer that died."""
    path = Path(store.root) / f".{job_id}.json.{os.urandom(6).hex()}.tmp"
    path.write_bytes(data)
    return path


def file_bytes(job: dict[str, Any], version: int) -> bytes:
    return encode_file(encode_job_body(job), version)


# ------------------------------------------------------------------------------ temp files


def test_an_orphaned_temp_file_is_removed(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "done"})
    orphan = write_orphan_temp(store, "a1", b'{"format":"durable_jobs/1","vers')  # cut mid-write
    report = store.recover()
    assert not orphan.exists()
    assert report.temp_files_removed == [orphan.name]
    assert store.get_job("a1") == {"status": "done"}


def test_an_orphaned_temp_file_of_a_job_never_saved_is_removed(make_store: MakeStore) -> None:
    store = make_store("file")
    orphan = write_orphan_temp(store, "first", file_bytes({"status": "queued"}, 1))
    assert store.recover().temp_files_removed == [orphan.name]
    assert temp_files(store) == [] and store.list_jobs() == []
    assert store.get_job("first") is None


def hold_job_lock(root: str, job_id: str, locked: Any, release: Any) -> None:
    """Child: hold ``job_id``'s lock, as a live writer does between temp file and rename."""
    with FileJobStore(root)._locked(job_id):
        locked.set()
        release.wait(TIMEOUT)


@pytest.mark.parametrize("job_id", ["busy", "report.v2", "a.json.b"])
def test_a_temp_file_whose_writer_holds_the_lock_is_kept(
    make_store: MakeStore, job_id: str
) -> None:
    """Ids with dots included: the owner is read from the temp name's end, not its first dot."""
    store = make_store("file")
    locked, release = FORK.Event(), FORK.Event()
    writer = FORK.Process(target=hold_job_lock, args=(str(store.root), job_id, locked, release))
    writer.start()
    try:
        assert locked.wait(TIMEOUT), "the child never took the lock"
        in_progress = write_orphan_temp(store, job_id, b"half a job")
        report = store.recover()
        assert in_progress.exists() and report.temp_files_removed == []
    finally:
        release.set()
        writer.join(TIMEOUT)
    assert writer.exitcode == 0
    assert store.recover().temp_files_removed == [in_progress.name]  # its writer is gone now
    assert not in_progress.exists()


# ------------------------------------------------------------------------------ damage


def test_a_damaged_job_file_is_repaired_from_the_backup(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "running", "progress": 0.5, "owner": current_owner()})
    store.save_job("a1", {"status": "running", "progress": 0.9, "owner": current_owner()})
    Damage("bitflip", seed=200).apply(store.paths_for("a1")["main"])
    report = store.recover()
    assert report.repaired_from_backup == ["a1"]
    previous = {"status": "running", "progress": 0.5, "owner": current_owner()}
    assert decode_file(store.paths_for("a1")["main"].read_bytes()).job == previous
    assert store.get_job("a1") == previous  # no _recovered marker: the file is good again


def test_a_finished_job_is_repaired_as_finished(make_store: MakeStore) -> None:
    # Its backup is a copy of the finished version: the version before ("running") would bring
    # the job back to life, and the UI would poll it forever.
    store = make_store("file")
    store.save_job("a1", {"status": "running", "progress": 0.5, "owner": current_owner()})
    store.save_job("a1", {"status": "done", "rows": 3})
    Damage("bitflip", seed=200).apply(store.paths_for("a1")["main"])
    assert store.recover().repaired_from_backup == ["a1"]
    assert store.get_job("a1") == {"status": "done", "rows": 3}


def test_a_missing_job_file_is_restored_from_the_backup(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "queued", "owner": current_owner()})
    os.replace(store.paths_for("a1")["main"], store.paths_for("a1")["backup"])
    assert store.recover().repaired_from_backup == ["a1"]
    assert store.get_job("a1") == {"status": "queued", "owner": current_owner()}


def test_a_damaged_backup_is_rewritten_from_the_job_file(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "queued"})
    store.save_job("a1", {"status": "done"})
    paths = store.paths_for("a1")
    Damage("truncate", seed=10).apply(paths["backup"])
    report = store.recover()
    assert report.backups_rewritten == ["a1"]
    assert paths["backup"].read_bytes() == paths["main"].read_bytes()
    assert store.get_job("a1") == {"status": "done"}


def test_a_job_with_no_readable_copy_is_reported_and_left_alone(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "done"})
    store.save_job("a1", {"status": "done", "rows": 2})
    paths = store.paths_for("a1")
    Damage("empty").apply(paths["main"])
    Damage("garbage", garbage=b"\x00\x01").apply(paths["backup"])
    report = store.recover()
    assert list(report.unreadable) == ["a1"]
    assert "empty file" in report.unreadable["a1"] and "backup" in report.unreadable["a1"]
    assert paths["main"].read_bytes() == b"" and paths["backup"].read_bytes() == b"\x00\x01"
    assert store.get_job("a1")["status"] == "unknown"


def test_a_foreign_file_is_reported_as_foreign(make_store: MakeStore) -> None:
    store = make_store("file")
    store.paths_for("theirs")["main"].write_text('{"a": 1}')
    report = store.recover()
    assert report.foreign_files == ["theirs"] and "another program" in report.unreadable["theirs"]
    assert store.paths_for("theirs")["main"].read_text() == '{"a": 1}'


def test_recovering_a_clean_store_changes_nothing(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "done"})
    store.save_job("a2", {"rows": 3})
    before = {path.name: path.read_bytes() for path in Path(store.root).glob("*.json*")}
    assert all(not value for value in store.recover().as_dict().values())
    assert {path.name: path.read_bytes() for path in Path(store.root).glob("*.json*")} == before


# ------------------------------------------------------------------------------ abandoned jobs


def assert_failed_as_abandoned(job: dict[str, Any], was: str) -> None:
    assert job["status"] == "error"
    assert job["error"].startswith("abandoned") and repr(was) in job["error"]
    assert isinstance(job["recovered_at"], float)


def failed_ids(report: Any) -> list[str]:
    as_dict = report.as_dict() if hasattr(report, "as_dict") else report
    return sorted(as_dict["abandoned_jobs_failed"])


@pytest.mark.parametrize("status", ["queued", "running", "uploading", ["odd"], {"odd": 1}, 3])
def test_a_non_terminal_job_with_no_owner_is_failed_as_abandoned(store: Any, status: Any) -> None:
    store.save_job("a1", {"status": status, "rows": 5})
    assert failed_ids(store.recover()) == ["a1"]
    job = store.get_job("a1")
    assert_failed_as_abandoned(job, was=status)
    assert job["rows"] == 5  # the other fields are kept
    assert failed_ids(store.recover()) == []  # a failed job is terminal: recovery is idempotent


def test_a_job_owned_by_this_live_process_is_left_alone(store: Any) -> None:
    job = {"status": "running", "owner": current_owner()}
    store.save_job("mine", job)
    assert failed_ids(store.recover()) == []
    assert store.get_job("mine") == job


@pytest.mark.parametrize("status", ["done", "error", None])
def test_a_finished_job_is_left_alone(store: Any, status: Any) -> None:
    store.save_job("a1", {"status": status, "owner": dead_owner()})
    assert failed_ids(store.recover()) == []
    assert store.get_job("a1") == {"status": status, "owner": dead_owner()}


def test_a_job_without_a_status_is_left_alone(store: Any) -> None:
    store.save_job("config", {"owner": dead_owner(), "rows": 1})
    assert failed_ids(store.recover()) == []
    assert store.get_job("config") == {"owner": dead_owner(), "rows": 1}


def report_owner(owners: Any) -> None:
    owners.put(current_owner())


def owner_of_a_process_that_exited() -> dict[str, Any]:
    """The owner record of a real child process, taken after the child has exited."""
    owners = FORK.Queue()
    child = FORK.Process(target=report_owner, args=(owners,))
    child.start()
    owner = owners.get(timeout=TIMEOUT)
    child.join(TIMEOUT)
    assert child.exitcode == 0
    return owner


def test_a_job_whose_owner_process_died_is_failed(store: Any) -> None:
    owner = owner_of_a_process_that_exited()
    assert owner["pid"] != os.getpid() and owner["pid_start"] is not None
    store.save_job("orphan", {"status": "running", "owner": owner})
    assert failed_ids(store.recover()) == ["orphan"]
    assert_failed_as_abandoned(store.get_job("orphan"), was="running")


def test_a_job_whose_pid_was_reused_by_another_process_is_failed(store: Any) -> None:
    # This process's pid, but a different start time: the owner died and the pid was reused.
    owner = {**current_owner(), "pid_start": process_start_time(os.getpid()) - 1}
    store.save_job("reused", {"status": "running", "owner": owner})
    assert failed_ids(store.recover()) == ["reused"]
    assert_failed_as_abandoned(store.get_job("reused"), was="running")


def test_a_job_owned_on_another_host_without_a_lease_is_left_to_that_host(store: Any) -> None:
    # Its pid means nothing here, and it has no lease that could expire: another instance
    # starting up must never fail a live instance's jobs (issue 9, item 2).
    owner = {**current_owner(), "host": "web-2"}
    store.save_job("elsewhere", {"status": "queued", "owner": owner})
    assert failed_ids(store.recover()) == []
    assert store.get_job("elsewhere")["status"] == "queued"


def test_a_job_of_another_pid_namespace_is_not_judged_by_its_pid(store: Any) -> None:
    # A container on this host (unshare --pid): its pid 2**22+1 is not this namespace's.
    owner = {**dead_owner(), "pid_ns": 1}
    store.save_job("container", {"status": "running", "owner": owner})
    assert failed_ids(store.recover()) == []


def leased(owner: dict[str, Any], expires_in: float) -> dict[str, Any]:
    now = time.time()
    lease = {"instance": "web-2-1a2b", "token": "t1", "heartbeat_at": now - 1.0}
    return {"status": "running", "owner": owner, "lease": {**lease, "expires_at": now + expires_in}}


def test_a_job_whose_lease_expired_on_another_host_is_failed_and_keeps_its_cause(
    store: Any,
) -> None:
    job = leased({**current_owner(), "host": "web-2"}, -0.5)
    store.save_job("stale", {**job, "last_problem": "ENOSPC (No space left on device)"})
    assert failed_ids(store.recover()) == ["stale"]
    rescued = store.get_job("stale")
    assert_failed_as_abandoned(rescued, was="running")
    assert "lease" in rescued["error"] and "web-2-1a2b" in rescued["error"]
    assert rescued["error"].endswith("recorded: ENOSPC (No space left on device)")
    assert rescued["lease"] is None  # the paused holder's token no longer matches


def test_a_job_whose_lease_is_live_on_another_host_is_left_alone(store: Any) -> None:
    store.save_job("live", leased({**current_owner(), "host": "web-2"}, 30.0))
    assert failed_ids(store.recover()) == []
    assert store.get_job("live")["status"] == "running"


def test_a_dead_owner_on_this_host_is_failed_before_its_lease_expires(store: Any) -> None:
    store.save_job("killed", leased(owner_of_a_process_that_exited(), 30.0))
    assert failed_ids(store.recover()) == ["killed"]
    assert "process holding it stopped" in store.get_job("killed")["error"]


@pytest.mark.parametrize("owner", ["me", 42, {"pid": "1"}, {"host": None}], ids=repr)
def test_a_job_with_a_malformed_owner_is_failed(store: Any, owner: Any) -> None:
    store.save_job("junk", {"status": "running", "owner": owner})
    assert failed_ids(store.recover()) == ["junk"]


def test_only_the_abandoned_jobs_of_a_mixed_store_are_failed(store: Any) -> None:
    store.save_job("done", {"status": "done"})
    store.save_job("mine", {"status": "running", "owner": current_owner()})
    store.save_job("dead", {"status": "running", "owner": dead_owner()})
    store.save_job("free", {"status": "queued"})
    store.save_job("plain", {"rows": 1})
    assert failed_ids(store.recover()) == ["dead", "free"]


def test_failing_an_abandoned_job_leaves_both_copies_failed(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "running", "progress": 0.7})
    store.recover()
    backup = decode_file(store.paths_for("a1")["backup"].read_bytes()).job
    assert backup["status"] == "error" and backup["progress"] == 0.7


def test_a_repaired_job_is_then_failed_if_abandoned(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "queued"})
    store.save_job("a1", {"status": "running"})
    Damage("empty").apply(store.paths_for("a1")["main"])
    report = store.recover()
    assert report.repaired_from_backup == ["a1"] and report.abandoned_jobs_failed == ["a1"]
    assert_failed_as_abandoned(store.get_job("a1"), was="queued")


# ------------------------------------------------------------------------------ crash states


def test_a_crash_before_the_renames_leaves_the_previous_version(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"v": 1})
    store.save_job("a1", {"v": 2})
    write_orphan_temp(store, "a1", file_bytes({"v": 3}, 3))  # temp fsynced, nothing renamed
    assert store.get_job("a1") == {"v": 2}
    store.recover()
    assert temp_files(store) == [] and store.get_job("a1") == {"v": 2}


def test_a_crash_between_the_renames_is_served_and_restored_from_the_backup(
    make_store: MakeStore,
) -> None:
    store = make_store("file")
    store.save_job("a1", {"v": 1})
    store.save_job("a1", {"v": 2})
    paths = store.paths_for("a1")
    write_orphan_temp(store, "a1", file_bytes({"v": 3}, 3))
    os.replace(paths["main"], paths["backup"])  # rename 1 done, rename 2 never happened
    job = store.get_job("a1")
    assert job.pop(RECOVERED_KEY) and job == {"v": 2}  # served at once, and repaired
    paths["main"].unlink()  # the same crash state again (the repair kept the backup)
    report = store.recover()
    assert report.repaired_from_backup == ["a1"] and len(report.temp_files_removed) == 1
    assert store.get_job("a1") == {"v": 2}


def crash_payload(seq: int) -> dict[str, Any]:
    """A job that proves itself whole: its digest covers every other field."""
    body = {"seq": seq, "pad": "x" * (seq % 11 * 997)}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return {**body, "digest": digest}


def save_in_a_loop(root: str, job_id: str, saved: Any) -> None:
    store = FileJobStore(root)
    for seq in itertools.count():
        store.save_job(job_id, crash_payload(seq))
        saved.value = seq + 1


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after ``TIMEOUT`` seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        os.sched_yield()


@pytest.mark.parametrize("round_number", range(8))
def test_a_writer_killed_mid_save_leaves_a_job_that_recover_makes_whole(
    make_store: MakeStore, round_number: int
) -> None:
    store = make_store("file")
    saved = FORK.Value("q", 0, lock=False)
    writer = FORK.Process(target=save_in_a_loop, args=(str(store.root), "crash", saved))
    writer.start()
    try:
        # Rounds kill after more and more saves, so each lands at another point of a save.
        target = 6 + 17 * round_number
        wait_for(lambda: saved.value >= target or not writer.is_alive(), f"{target} saves")
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(TIMEOUT)
    assert writer.exitcode == -signal.SIGKILL
    report = store.recover()
    assert temp_files(store) == [], report
    job = store.get_job("crash")
    assert job is not None and RECOVERED_KEY not in job
    assert job == crash_payload(job["seq"]) and job["seq"] >= 5
    backup = decode_file(store.paths_for("crash")["backup"].read_bytes()).job
    assert backup == crash_payload(backup["seq"]) and backup["seq"] <= job["seq"]


SAVE_THREE_VERSIONS = """
import sys
from durable_jobs.file_store import FileJobStore
store = FileJobStore(sys.argv[1])
for version in (1, 2, 3):
    store.save_job("a1", {"v": version})
"""


@pytest.mark.parametrize(
    ("rename", "expected"),
    [(5, {"v": 2}), (6, {"v": 2})],
    ids=["killed-at-rename-to-backup", "killed-at-rename-into-place"],
)
def test_a_writer_killed_at_an_exact_rename_loses_only_the_unacknowledged_save(
    tmp_path: Path, rename: int, expected: dict[str, int]
) -> None:
    # Renames: every save has two. Save 1 has no older version to keep, so its backup is a second
    # copy (temp -> .bak, temp -> job); saves 2 and 3 rotate (job -> .bak, temp -> job). Rename 5
    # is save 3's first, rename 6 its second: SIGKILL at either loses save 3 only.
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (tools/ensure-system-packages installs it)")
    renames = "rename,renameat,renameat2"
    command = [strace, "-f", "-qq", "-o", "/dev/null", "-e", f"trace={renames}"]
    command += ["-e", f"inject={renames}:signal=SIGKILL:when={rename}"]
    command += [sys.executable, "-c", SAVE_THREE_VERSIONS, str(tmp_path / "jobs")]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    if "ptrace" in completed.stderr.lower():
        pytest.skip(f"strace cannot trace here: {completed.stderr.strip()}")
    assert completed.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL), completed.stderr
    store = FileJobStore(tmp_path / "jobs")
    assert len(temp_files(store)) == 1
    report = store.recover()
    assert temp_files(store) == []
    assert report.repaired_from_backup == ([] if rename == 5 else ["a1"])
    assert store.get_job("a1") == expected


def test_postgres_recover_spares_a_job_claimed_by_a_live_worker_meanwhile(
    make_store: MakeStore,
) -> None:
    # recover() reads the abandoned candidates, then fails them one UPDATE at a time. A worker
    # that claims a queued job in between must win: its job is no longer abandoned.
    import psycopg

    store = make_store("postgres")
    store.save_job("race", {"status": "queued"})
    claimed = {"status": "running", "owner": current_owner()}
    observer = psycopg.connect(store.url, autocommit=True)  # a fresh pg_stat_activity per query
    with psycopg.connect(store.url) as worker, observer:
        worker.execute(f"SELECT 1 FROM {store.table} WHERE id = 'race' FOR UPDATE")
        reports: list[Any] = []
        recovery = threading.Thread(target=lambda: reports.append(store.recover()))
        recovery.start()
        try:
            # recover() has read the job as queued; its UPDATE now waits for the worker's lock.
            wait_for(
                lambda: (
                    observer.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE %s",
                        (f"UPDATE {store.table} %",),
                    ).fetchone()[0]
                    == 1
                ),
                "recover() to wait for the row lock",
            )
            worker.execute(
                f"UPDATE {store.table} SET body = %s::jsonb, version = version + 1 "
                "WHERE id = 'race'",
                (json.dumps(claimed),),
            )
            worker.commit()
        finally:
            recovery.join(TIMEOUT)
    assert reports == [{"abandoned_jobs_failed": []}]
    assert store.get_job("race") == claimed
