"""The file store's version cache: a save skips reading the current job file only when a ``stat``
proves it is the file this process wrote, unchanged (``durable_jobs.file_versions``).

Each test changes the job file behind the store's back the way the harness or another process
does (damage in place right after a save, another process's saves, a delete) and checks the
guarantees the cache must not weaken: a damaged file is never rotated into the backup, versions
only grow, and the backup is the version just before the current one.
"""

from __future__ import annotations

import doctest
import importlib
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import durable_jobs.forks as forks
from durable_jobs.encoding import decode_file
from durable_jobs.file_io import write_temp
from durable_jobs.file_layout import new_temp_path
from durable_jobs.file_store import FileJobStore
from durable_jobs.file_versions import VersionCache, has_fine_timestamps
from harness.nemesis.damage import damage_file

FORK = multiprocessing.get_context("fork")


def version_of(path: Path) -> int:
    return decode_file(path.read_bytes()).version


def job_in(path: Path) -> dict[str, object]:
    return decode_file(path.read_bytes()).job


@pytest.mark.parametrize("how", ["bitflip", "garbage", "truncate", "empty"])
def test_a_file_damaged_right_after_a_save_is_never_rotated_into_the_backup(
    tmp_path: Path, how: str
) -> None:
    store = FileJobStore(tmp_path)
    paths = store.paths_for("a1")
    rng = random.Random(how)
    store.save_job("a1", {"status": "running", "step": 0})
    for step in range(1, 60):
        store.save_job("a1", {"status": "running", "step": step})  # remembered in the cache
        damage_file(os.fspath(paths["main"]), how, rng)  # at once: within the same clock tick
        store.save_job("a1", {"status": "running", "step": step + 100})
        # The damaged file was not kept: the backup is still the good version before it.
        assert job_in(paths["backup"]) == {"status": "running", "step": step - 1}
        assert store.get_job("a1") == {"status": "running", "step": step + 100}
        store.save_job("a1", {"status": "running", "step": step})  # backup: step + 100


def save_twice(root: str) -> None:
    store = FileJobStore(root)
    store.save_job("a1", {"status": "running", "by": "other", "n": 1})
    store.save_job("a1", {"status": "running", "by": "other", "n": 2})


def test_saves_by_another_process_are_seen_by_the_next_save(tmp_path: Path) -> None:
    store = FileJobStore(tmp_path)
    paths = store.paths_for("a1")
    store.save_job("a1", {"status": "running", "by": "me", "n": 1})
    store.save_job("a1", {"status": "running", "by": "me", "n": 2})  # version 2, cached
    other = FORK.Process(target=save_twice, args=(os.fspath(tmp_path),))
    other.start()
    other.join(30)
    assert other.exitcode == 0
    assert version_of(paths["main"]) == 4
    store.save_job("a1", {"status": "running", "by": "me", "n": 3})
    assert version_of(paths["main"]) == 5  # not 3, which the cache alone would have said
    assert job_in(paths["backup"]) == {"status": "running", "by": "other", "n": 2}


def test_a_job_file_deleted_behind_the_store_starts_from_its_backup_version(
    tmp_path: Path,
) -> None:
    store = FileJobStore(tmp_path)
    paths = store.paths_for("a1")
    for n in range(3):
        store.save_job("a1", {"status": "running", "n": n})
    paths["main"].unlink()
    store.save_job("a1", {"status": "running", "n": 3})
    assert version_of(paths["main"]) == 4  # one more than the lost version 3
    assert job_in(paths["backup"]) == {"status": "running", "n": 1}  # the last good one, kept


@pytest.mark.parametrize("status", ["done", "error"])
def test_a_job_finished_over_a_remembered_file_gets_a_second_copy_as_its_backup(
    tmp_path: Path, status: str
) -> None:
    # The save's fast path (the cache knows the job file) must keep the rule of the slow one:
    # the backup of a finished job is a copy of it, never the "running" version before it.
    store = FileJobStore(tmp_path)
    paths = store.paths_for("a1")
    store.save_job("a1", {"status": "queued"})
    store.save_job("a1", {"status": "running"})  # remembered: the next save reads nothing
    store.save_job("a1", {"status": status})
    assert job_in(paths["main"]) == job_in(paths["backup"]) == {"status": status}
    assert version_of(paths["main"]) == version_of(paths["backup"]) == 3
    assert os.stat(paths["main"]).st_ino != os.stat(paths["backup"]).st_ino  # two files


def test_the_cache_answers_only_for_the_identity_it_recorded() -> None:
    cache = VersionCache(enabled=True)
    recorded = (1, 10, 100, 5)  # device, inode, size, mtime_ns
    cache.remember("a1", recorded, 7)
    assert cache.version_of("a1", recorded) == 7
    assert cache.version_of("a1", (1, 11, 100, 5)) is None  # another inode
    assert cache.version_of("a1", (1, 10, 99, 5)) is None  # another size
    assert cache.version_of("a1", (1, 10, 100, 6)) is None  # changed since
    assert cache.version_of("a1", (2, 10, 100, 5)) is None  # another filesystem
    assert cache.version_of("b2", recorded) is None
    cache.forget("a1")
    assert cache.version_of("a1", recorded) is None


def test_a_cache_that_is_off_remembers_nothing() -> None:
    cache = VersionCache(enabled=False)
    cache.remember("a1", (1, 2, 3, 4), 7)
    assert cache.version_of("a1", (1, 2, 3, 4)) is None


def test_the_timestamp_probe_leaves_no_file_behind(tmp_path: Path) -> None:
    has_fine_timestamps(os.fspath(tmp_path))  # True on Linux 6.13+ ext4 and tmpfs, else False
    assert list(tmp_path.iterdir()) == []


def test_the_timestamp_probe_says_no_where_it_cannot_write(tmp_path: Path) -> None:
    assert has_fine_timestamps(os.fspath(tmp_path / "missing")) is False


# ------------------------------------------------------------------------------ temp names


def temp_name_in_child(root: str, queue: multiprocessing.Queue[str]) -> None:
    queue.put(new_temp_path(root, "a1"))


def test_a_forked_child_names_its_temp_files_apart_from_its_parent(tmp_path: Path) -> None:
    parent = new_temp_path(os.fspath(tmp_path), "a1")
    queue: multiprocessing.Queue[str] = FORK.Queue()
    child = FORK.Process(target=temp_name_in_child, args=(os.fspath(tmp_path), queue))
    child.start()
    child_name = queue.get(timeout=30)
    child.join(30)
    tag_length = 10  # the random part before the counter
    parent_tag = parent.rsplit(".", 2)[1][:tag_length]
    child_tag = child_name.rsplit(".", 2)[1][:tag_length]
    assert parent_tag != child_tag


def test_a_leftover_temp_file_with_the_next_name_does_not_fail_the_save(tmp_path: Path) -> None:
    root = os.fspath(tmp_path)
    taken = new_temp_path(root, "a1")  # .a1.json.<10 hex tag><hex counter>.tmp
    head, tail = taken[: -len(".tmp")].rsplit(".", 1)
    tag, number = tail[:10], int(tail[10:], 16)
    for following in range(number + 1, number + 4):
        Path(f"{head}.{tag}{following:x}.tmp").write_bytes(b"left by a dead writer")
    temp, _status = write_temp(root, "a1", b"new bytes")
    assert Path(temp).read_bytes() == b"new bytes"
    assert len(list(tmp_path.glob(".a1.json.*.tmp"))) == 4


# ------------------------------------------------------------------------------ module examples


@pytest.mark.parametrize(
    "module",
    [
        "durable_jobs.file_layout",
        "durable_jobs.file_io",
        "durable_jobs.file_versions",
        "durable_jobs.forks",
    ],
)
def test_the_module_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def child_generation(queue: multiprocessing.Queue[int]) -> None:
    queue.put(forks.generation)


def test_a_forked_child_is_one_fork_generation_further(tmp_path: Path) -> None:
    queue: multiprocessing.Queue[int] = FORK.Queue()
    child = FORK.Process(target=child_generation, args=(queue,))
    child.start()
    assert queue.get(timeout=30) == forks.generation + 1
    child.join(30)


# ------------------------------------------------------------------------------ coarse timestamps


@pytest.fixture
def coarse_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real ext2 file system on a loop device: its timestamps are one clock tick coarse."""
    if os.geteuid() != 0 or shutil.which("mkfs.ext2") is None:
        pytest.skip("mounting an ext2 image needs root and mkfs.ext2")
    image, mount_point = tmp_path / "ext2.img", tmp_path / "ext2"
    mount_point.mkdir()
    with image.open("wb") as sparse:
        sparse.truncate(8 << 20)
    made = subprocess.run(["mkfs.ext2", "-q", "-F", str(image)], capture_output=True, check=False)
    mounted = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mount_point)], capture_output=True, check=False
    )
    if made.returncode or mounted.returncode:
        pytest.skip(f"cannot mount an ext2 image here: {(made.stderr + mounted.stderr).decode()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_the_probe_finds_coarse_timestamps_and_the_cache_stays_off(coarse_filesystem: Path) -> None:
    assert has_fine_timestamps(os.fspath(coarse_filesystem)) is False
    store = FileJobStore(coarse_filesystem / "jobs")
    paths = store.paths_for("a1")
    rng = random.Random(0)
    store.save_job("a1", {"status": "running", "step": 0})
    for step in range(1, 20):
        store.save_job("a1", {"status": "running", "step": step})
        damage_file(os.fspath(paths["main"]), "bitflip", rng)  # same tick, same size: unseen
        store.save_job("a1", {"status": "running", "step": step + 100})
        assert job_in(paths["backup"]) == {"status": "running", "step": step - 1}
        store.save_job("a1", {"status": "running", "step": step})


def step_of(strace_line: str) -> str:
    """``lock``, ``unlock``, ``fsync`` or ``rename`` for one line of ``strace -o``."""
    call = strace_line.split("(")[0].split()[-1]
    if call == "flock":
        return "unlock" if "LOCK_UN" in strace_line else "lock"
    return "rename" if call.startswith("rename") else call


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_a_save_releases_the_job_lock_before_its_directory_fsync(tmp_path: Path) -> None:
    # The next writer of a job builds on renames that are already in place, so it need not wait
    # for this save's disk: the lock covers the temp file and the renames, not the last fsync.
    trace = tmp_path / "trace"
    save_twice = (
        "import sys; from durable_jobs.file_store import FileJobStore; "
        "store = FileJobStore(sys.argv[1]); "
        "store.save_job('a1', {'n': 1}); store.save_job('a1', {'n': 2})"
    )
    traced = "trace=flock,fsync,rename,renameat,renameat2"
    command = ["strace", "-f", "-o", str(trace), "-e", traced, sys.executable, "-c", save_twice]
    subprocess.run([*command, str(tmp_path / "store")], check=True, timeout=60)
    steps = [step_of(line) for line in trace.read_text().splitlines() if "(" in line]
    last_save = steps[len(steps) - 1 - steps[::-1].index("lock") :]
    assert last_save == ["lock", "fsync", "rename", "rename", "unlock", "fsync"]
