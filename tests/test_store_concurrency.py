"""Real processes writing, reading and updating one job at the same time.

Every write is self-checking: ``{"writer", "seq", "pad", "digest"}`` where the digest covers the
other fields, so a reader can tell a whole write from a torn one, a mix of two, or an error dict
without knowing what was written. Processes are forked (each opens its own store from the URL),
start together at a barrier, and report exactly one message each on a queue: the parent never
sleeps, it waits on the queue and joins with timeouts.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from durable_jobs import open_store
from durable_jobs.encoding import RECOVERED_KEY

MakeStore = Callable[[str], Any]
FORK = multiprocessing.get_context("fork")
TIMEOUT = 60.0
WRITERS, READERS, SAVES_PER_WRITER, MIN_READS = 3, 2, 150, 200
SECONDS = 3.0  # a bound on each writer's loop, so a slow disk cannot make the test slow


def url_of(store: Any) -> str:
    """The URL another process opens to reach the same store."""
    if hasattr(store, "table"):
        return f"{store.url}?table={store.table}"
    if hasattr(store, "path"):
        return f"sqlite://{store.path}"
    return f"file://{store.root}"


def digest_of(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def payload(writer: int, seq: int) -> dict[str, Any]:
    """Write ``seq`` of ``writer``; the pad varies in size so a torn write cannot look whole."""
    body = {"writer": writer, "seq": seq, "pad": "x" * ((writer * 7919 + seq * 104729) % 9000)}
    return {**body, "digest": digest_of(body)}


def problem_with(job: Any, backend: str) -> str | None:
    """What is wrong with a read of the contended job, or None if it is some writer's write."""
    if not isinstance(job, dict):
        return f"expected a job, read {job!r}"
    if "error" in job or "status" in job:
        return f"read an error dict: {job!r}"
    if backend == "file" and RECOVERED_KEY in job:
        return f"served from the backup with no damage: {job[RECOVERED_KEY]!r}"
    body = {key: value for key, value in job.items() if key != "digest"}
    if set(job) != {"writer", "seq", "pad", "digest"} or job["digest"] != digest_of(body):
        return f"not a whole write: {str(job)[:200]}"
    return None


def run_processes(targets: list[tuple[Callable[..., None], tuple[Any, ...]]]) -> list[Any]:
    """Start every target with (start, stop, results, *args); return one message from each.

    ``start`` is a barrier of all of them, so they begin together (readers after their first
    read); ``stop`` is set once every process that is not a reader has reported.
    """
    start = FORK.Barrier(len(targets), timeout=TIMEOUT)
    stop, results = FORK.Event(), FORK.Queue()
    processes = [
        FORK.Process(target=target, args=(start, stop, results, *args), daemon=True)
        for target, args in targets
    ]
    for process in processes:
        process.start()
    messages: list[Any] = []
    try:
        writers = sum(1 for target, _ in targets if target is not read_loop)
        while len(messages) < len(processes):
            message = results.get(timeout=TIMEOUT)
            messages.append(message)
            if sum(1 for m in messages if m[0] != "reader") == writers:
                stop.set()
    finally:
        stop.set()
        for process in processes:
            process.join(TIMEOUT)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return messages


def write_loop(start: Any, stop: Any, results: Any, url: str, job_id: str, writer: int) -> None:
    try:
        store = open_store(url)
        start.wait()
        deadline = time.monotonic() + SECONDS
        for seq in range(SAVES_PER_WRITER):
            store.save_job(job_id, payload(writer, seq))
            if time.monotonic() > deadline:
                break
        store.close()
        results.put(("writer", writer, None))
    except BaseException:
        results.put(("writer", writer, traceback.format_exc()))


def read_loop(start: Any, stop: Any, results: Any, url: str, job_id: str, backend: str) -> None:
    """Read until the writers stop (and at least MIN_READS times); check every read.

    The first read is made before the writers start and the last after they all stopped, so
    every reader sees at least two different writes.
    """
    try:
        store = open_store(url)
        reads, problems, seen = 0, [], set()
        latest: dict[int, int] = {}
        while True:
            finished = stop.is_set()
            job = store.get_job(job_id)
            reads += 1
            problem = problem_with(job, backend)
            if problem is None:
                writer, seq = job["writer"], job["seq"]
                if seq < latest.get(writer, -1):
                    problem = f"stale read: writer {writer} seq {seq} after {latest[writer]}"
                latest[writer] = max(seq, latest.get(writer, -1))
                seen.add((writer, seq))
            if problem is not None:
                problems.append(problem)
            if reads == 1:
                start.wait()
            elif finished and reads >= MIN_READS:
                break
        store.close()
        results.put(("reader", reads, len(seen), problems[:5], len(problems)))
    except BaseException:
        results.put(("reader", 0, 0, [traceback.format_exc()], 1))


@pytest.mark.parametrize("backend", ["file", "sqlite", "postgres"])
def test_concurrent_readers_only_ever_see_whole_writes(make_store: MakeStore, backend: str) -> None:
    store = make_store(backend)
    store.save_job("contended", payload(-1, 0))  # the job exists before anyone reads it
    url = url_of(store)
    targets: list[tuple[Callable[..., None], tuple[Any, ...]]] = [
        (write_loop, (url, "contended", writer)) for writer in range(WRITERS)
    ]
    targets += [(read_loop, (url, "contended", backend)) for _ in range(READERS)]
    messages = run_processes(targets)
    writer_errors = [m[2] for m in messages if m[0] == "writer" and m[2]]
    assert writer_errors == []
    readers = [m for m in messages if m[0] == "reader"]
    assert len(readers) == READERS
    for _, reads, distinct, problems, count in readers:
        assert count == 0, f"{count} bad reads out of {reads}, first: {problems}"
        assert reads >= MIN_READS
        assert distinct >= 2, "the reader saw no change: the test raced nothing"
    final = store.get_job("contended")
    assert problem_with(final, backend) is None and final["writer"] >= 0


UPDATERS, UPDATES_PER_PROCESS = 3, 80


def update_loop(start: Any, stop: Any, results: Any, url: str, job_id: str, updater: int) -> None:
    """Update this process's own field; the returned job must carry the value just written."""
    try:
        store = open_store(url)
        field = f"field_{updater}"
        start.wait()
        for value in range(UPDATES_PER_PROCESS):
            returned = store.update_job(job_id, {field: value})
            assert returned[field] == value and returned["base"] is True, returned
        store.close()
        results.put(("updater", updater, None))
    except BaseException:
        results.put(("updater", updater, traceback.format_exc()))


@pytest.mark.parametrize("backend", ["file", "sqlite", "postgres"])
def test_concurrent_updates_of_different_fields_are_never_lost(
    make_store: MakeStore, backend: str
) -> None:
    store = make_store(backend)
    store.save_job("shared", {"base": True})
    url = url_of(store)
    messages = run_processes(
        [(update_loop, (url, "shared", updater)) for updater in range(UPDATERS)]
    )
    assert [m[2] for m in messages if m[2]] == []
    last = UPDATES_PER_PROCESS - 1
    expected = {"base": True, **{f"field_{n}": last for n in range(UPDATERS)}}
    assert store.get_job("shared") == expected


@pytest.mark.parametrize("backend", ["file", "sqlite", "postgres"])
def test_threads_sharing_one_store_lose_no_update(make_store: MakeStore, backend: str) -> None:
    store = make_store(backend)
    store.save_job("shared", {"base": True})
    errors: list[BaseException] = []
    barrier = threading.Barrier(4, timeout=TIMEOUT)

    def update(thread: int) -> None:
        try:
            barrier.wait()
            for value in range(50):
                store.update_job("shared", {f"thread_{thread}": value})
                job = store.get_job("shared")
                assert job is not None and job[f"thread_{thread}"] == value, job
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=update, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    assert store.get_job("shared") == {"base": True, **{f"thread_{n}": 49 for n in range(4)}}
