"""The incident's defects are real: each test passes *because* the reference design is broken.

``legacy.py`` keeps the pre-fix design (naive) and the incident's fix (phase 4.7.0) exactly as
written, so the harness has something real to catch. If one of these tests fails, a reference
variant was "fixed" by mistake, and the harness's proof that it catches the defect is gone.

The races are made with real processes. They are bounded loops that stop at the first sighting,
with bounds far above what the defect needs (it usually shows in the first rounds).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from strategies import flip_bit

from durable_jobs.file_store import FileJobStore
from durable_jobs.legacy import NaiveJobStore, Phase470JobStore

MakeStore = Callable[[str], Any]
FORK = multiprocessing.get_context("fork")
TIMEOUT = 30.0


def test_naive_get_job_raises_json_decode_error_on_an_empty_file(make_store: MakeStore) -> None:
    store = make_store("naive")
    store.save_job("a1", {"status": "running"})
    store.paths_for("a1")["main"].write_bytes(b"")  # what a reader sees mid-write
    with pytest.raises(json.JSONDecodeError):
        store.get_job("a1")


def test_phase470_returns_an_error_dict_for_a_job_that_never_existed(
    make_store: MakeStore,
) -> None:
    job = make_store("phase470").get_job("never-saved")
    assert job is not None  # the API cannot answer 404
    assert job["status"] == "unknown" and "FileNotFoundError" in job["error"]


def test_phase470_spends_a_quarter_second_on_a_damaged_file(make_store: MakeStore) -> None:
    store = make_store("phase470")
    store.save_job("a1", {"status": "queued"})
    store.save_job("a1", {"status": "running"})
    store.paths_for("a1")["main"].write_bytes(b'{"status": "run')
    started = time.perf_counter()
    job = store.get_job("a1")
    elapsed = time.perf_counter() - started
    assert job == {"status": "queued"}  # the backup, after 5 retries that could not help
    assert elapsed >= 0.25


def test_phase470_serves_a_bit_flipped_file_that_is_still_json(make_store: MakeStore) -> None:
    store = make_store("phase470")
    store.save_job("a1", {"status": "running", "progress": 7})
    main = store.paths_for("a1")["main"]
    data = main.read_bytes()
    main.write_bytes(flip_bit(data, data.index(b"7}") * 8))  # '7' -> '6'
    assert store.get_job("a1") == {"status": "running", "progress": 6}


def test_the_hardened_store_detects_the_same_bit_flip(make_store: MakeStore) -> None:
    store = make_store("file")
    store.save_job("a1", {"status": "running", "progress": 7})
    main = store.paths_for("a1")["main"]
    data = main.read_bytes()
    main.write_bytes(flip_bit(data, data.index(b"7}") * 8))
    job = store.get_job("a1")
    # Detected, and the intact copy (a first save has no older version to keep) is served.
    assert job["progress"] == 7
    assert "checksum mismatch" in job["_recovered"]


def test_phase470_copies_a_damaged_file_over_the_good_backup(make_store: MakeStore) -> None:
    store = make_store("phase470")
    store.save_job("a1", {"status": "queued"})
    store.save_job("a1", {"status": "running"})
    paths = store.paths_for("a1")
    paths["main"].write_bytes(b"")
    store.save_job("a1", {"status": "done"})
    assert paths["backup"].read_bytes() == b""  # the last good version is gone


# ------------------------------------------------------------------------------ shared temp file


def written_text(writer: int, seq: int) -> str:
    """The exact file text of write ``seq`` of ``writer``: any other text is a torn file."""
    return json.dumps({"writer": writer, "seq": seq, "pad": "x" * (1000 + seq % 7 * 3000)})


def is_whole_write(text: str) -> bool:
    try:
        job = json.loads(text)
    except ValueError:
        return False
    return isinstance(job, dict) and written_text(job["writer"], job["seq"]) == text


def save_until_stopped(root: str, writer: int, stop: Any, seen: Any, rounds: int) -> None:
    """Save self-describing jobs; report the first exception (a FileNotFoundError expected)."""
    store = Phase470JobStore(root)
    try:
        for seq in range(rounds):
            if stop.is_set():
                break
            store.save_job("shared", json.loads(written_text(writer, seq)))
        seen.put(("done", writer, ""))
    except Exception as error:
        seen.put((type(error).__name__, writer, traceback.format_exc(limit=3)))


def test_two_phase470_writers_of_one_job_collide_on_the_shared_temp_file(
    make_store: MakeStore, record_property: Callable[[str, object], None]
) -> None:
    store = make_store("phase470")
    store.save_job("shared", json.loads(written_text(-1, 0)))
    main = store.paths_for("shared")["main"]
    stop, seen = FORK.Event(), FORK.Queue()
    writers = [
        FORK.Process(target=save_until_stopped, args=(str(store.root), n, stop, seen, 5000))
        for n in range(2)
    ]
    for writer in writers:
        writer.start()
    defects: list[str] = []
    finished = 0
    deadline = time.monotonic() + TIMEOUT
    try:
        while not defects and finished < 2 and time.monotonic() < deadline:
            # Read the job file as it is on disk: a torn file is the other possible outcome.
            try:
                text = main.read_text()
            except FileNotFoundError:
                text = None
            if text is not None and not is_whole_write(text):
                defects.append(f"torn job file ({len(text)} bytes)")
            while not seen.empty():
                outcome, writer_number, detail = seen.get()
                finished += 1
                if outcome != "done":
                    defects.append(f"writer {writer_number}: {outcome}")
                    assert outcome == "FileNotFoundError", detail
    finally:
        stop.set()
        for writer in writers:
            writer.join(TIMEOUT)
    record_property("phase470_shared_temp_defect", "; ".join(defects))
    print(f"phase470 shared temp file: {defects}")
    assert defects, "5000 saves each and no collision: was the temp name made unique?"


# ------------------------------------------------------------------------------ lost updates


def update_in_rounds(
    root: str,
    field: str,
    start: Any,
    done: Any,
    acknowledged: Any,
    round_number: Any,
    stop: Any,
    max_delay: float,
) -> None:
    """Each round: wait for the start, maybe wait a random moment, update ``field``."""
    store = Phase470JobStore(root)
    store.retry_sleep = 0.0  # a torn read retries at once: this test is about lost updates
    rng = random.Random(os.getpid())
    while True:
        start.wait(TIMEOUT)
        if stop.is_set():
            return
        spin_until = time.perf_counter() + rng.uniform(0.0, max_delay)
        while time.perf_counter() < spin_until:
            pass  # a random offset, so the two read-modify-writes overlap in varied ways
        try:
            store.update_job("shared", {field: round_number.value})
            acknowledged.value = round_number.value
        except Exception:
            acknowledged.value = -1  # the shared temp file struck: not acknowledged
        done.wait(TIMEOUT)


def release_and_join(processes: list[Any], stop: Any, start: Any) -> None:
    """Tell the round-based children to stop, let them see it, and reap them."""
    stop.set()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()  # broken when a child is gone already; the others time out of it too
    for process in processes:
        process.join(TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join(TIMEOUT)


def measure_update_seconds(root: Path) -> float:
    store = Phase470JobStore(root)
    started = time.perf_counter()
    for value in range(20):
        store.update_job("probe", {"value": value})
    store.delete_job("probe")
    return (time.perf_counter() - started) / 20


def test_phase470_loses_concurrent_updates_of_different_fields(
    make_store: MakeStore, record_property: Callable[[str, object], None]
) -> None:
    store = make_store("phase470")
    store.save_job("shared", {"a": 0, "b": 0})
    main = store.paths_for("shared")["main"]
    max_delay = 2 * measure_update_seconds(store.root)
    start, done = FORK.Barrier(3, timeout=TIMEOUT), FORK.Barrier(3, timeout=TIMEOUT)
    round_number, stop = FORK.Value("i", 0), FORK.Event()
    acknowledged = {field: FORK.Value("i", 0) for field in "ab"}
    updaters = [
        FORK.Process(
            target=update_in_rounds,
            args=(
                str(store.root),
                field,
                start,
                done,
                acknowledged[field],
                round_number,
                stop,
                max_delay,
            ),
        )
        for field in "ab"
    ]
    for updater in updaters:
        updater.start()
    lost: list[str] = []
    try:
        for number in range(1, 2001):
            round_number.value = number
            start.wait()
            done.wait()
            try:
                job = json.loads(main.read_text())
            except (OSError, ValueError):
                continue  # torn by the shared temp file: a different defect, try again
            acks = {field: acknowledged[field].value == number for field in "ab"}
            for field in "ab":
                if acks[field] and job.get(field) != number:
                    how = "both acknowledged" if all(acks.values()) else "the other one failed"
                    lost.append(f"round {number}: {field}={number} lost ({how}), file has {job}")
            if lost:
                break
    finally:
        release_and_join(updaters, stop, start)
    record_property("phase470_lost_update", lost[0] if lost else "")
    print(f"phase470 lost update: {lost}")
    assert lost, "2000 rounds of overlapping updates and none lost: is update_job locked?"


def test_the_hardened_store_passes_the_same_lost_update_round(make_store: MakeStore) -> None:
    # The same round structure against the file store: its update_job holds the job's lock.
    store: FileJobStore = make_store("file")
    store.save_job("shared", {"a": 0, "b": 0})
    start, done = FORK.Barrier(3, timeout=TIMEOUT), FORK.Barrier(3, timeout=TIMEOUT)
    round_number, stop = FORK.Value("i", 0), FORK.Event()
    acknowledged = {field: FORK.Value("i", 0) for field in "ab"}

    def update_rounds(field: str) -> None:
        hardened = FileJobStore(store.root)
        while True:
            start.wait(TIMEOUT)
            if stop.is_set():
                return
            hardened.update_job("shared", {field: round_number.value})
            acknowledged[field].value = round_number.value
            done.wait(TIMEOUT)

    updaters = [FORK.Process(target=update_rounds, args=(field,)) for field in "ab"]
    for updater in updaters:
        updater.start()
    try:
        for number in range(1, 101):
            round_number.value = number
            start.wait()
            done.wait()
            assert store.get_job("shared") == {"a": number, "b": number}
            assert [acknowledged[field].value for field in "ab"] == [number, number]
    finally:
        release_and_join(updaters, stop, start)
    assert [updater.exitcode for updater in updaters] == [0, 0]


def test_naive_and_phase470_have_no_recover() -> None:
    assert not hasattr(NaiveJobStore, "recover") and not hasattr(Phase470JobStore, "recover")
