"""A worker's store writes through outages: the retry loop, lost records, unstartable jobs.

The retry loop's logic is tested on literal failures (fast, exact); its use by the worker on
real stores: a file store whose both copies of a job are deleted or garbled mid-run, and a file
store on a real tmpfs filled to the last page (root), where a queued job cannot start.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tmpfs import mounted_tmpfs

from durable_jobs import open_store
from durable_jobs.errors import (
    DurabilityError,
    InvalidJobError,
    JobNotFoundError,
    StoreUnavailableError,
)
from durable_jobs.leases import new_lease
from durable_jobs.service.job_record import JobRecord
from durable_jobs.service.leasing import HeldLease
from durable_jobs.service.spool import SpooledUpload, UploadSpool
from durable_jobs.service.store_retry import (
    RetryPolicy,
    StoreWriteGaveUp,
    describe_cause,
    is_transient,
    write_with_retry,
)
from durable_jobs.service.worker import run_job

FAST = RetryPolicy(total_seconds=1.0, first_delay=0.01, max_delay=0.05)


def failing(errors: list[Exception], result: object = "ok") -> Callable[[], object]:
    """A write that raises each of ``errors`` in turn, then returns ``result``."""
    pending = list(errors)

    def write() -> object:
        if pending:
            raise pending.pop(0)
        return result

    return write


def real_enospc() -> DurabilityError:
    """A store error wrapping a real ENOSPC (/dev/full refuses every write)."""
    try:
        with open("/dev/full", "wb", buffering=0) as full:
            full.write(b"x")
    except OSError as error:
        try:
            raise DurabilityError("cannot save job 'a1': writing failed") from error
        except DurabilityError as wrapped:
            return wrapped
    raise AssertionError("/dev/full took a write")


# ---------------------------------------------------------------- the retry loop


def test_a_write_that_fails_transiently_is_retried_until_it_succeeds() -> None:
    outage = [StoreUnavailableError("down"), real_enospc(), OSError(errno.EROFS, "ro")]
    assert write_with_retry(failing(outage, "stored"), FAST) == "stored"


def test_a_permanent_error_is_raised_at_once_without_a_retry() -> None:
    calls = []

    def write() -> None:
        calls.append(1)
        raise InvalidJobError("not a dict")

    with pytest.raises(InvalidJobError):
        write_with_retry(write, FAST)
    assert calls == [1]


def test_an_outage_past_the_bound_gives_up_naming_the_last_cause_and_the_time() -> None:
    def write() -> None:
        raise real_enospc()

    started = time.monotonic()
    with pytest.raises(StoreWriteGaveUp) as gave_up:
        write_with_retry(write, FAST)

    assert FAST.total_seconds <= time.monotonic() - started <= FAST.total_seconds + 0.5
    assert gave_up.value.seconds >= FAST.total_seconds
    assert gave_up.value.reason == "no space left on device (ENOSPC)"
    assert gave_up.value.attempts > 3
    assert isinstance(gave_up.value.cause, DurabilityError)


def test_a_stop_ends_the_wait_at_once_with_the_last_error() -> None:
    stop = threading.Event()
    stop.set()
    slow = RetryPolicy(total_seconds=60, first_delay=30, max_delay=30)
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="down"):
        write_with_retry(failing([StoreUnavailableError("down")] * 2), slow, stop=stop)
    assert time.monotonic() - started < 5


def test_only_errors_of_the_medium_are_transient() -> None:
    assert is_transient(StoreUnavailableError("x")) and is_transient(real_enospc())
    assert is_transient(OSError(errno.EIO, "Input/output error"))
    assert not is_transient(OSError(errno.ENOENT, "No such file"))
    assert not is_transient(JobNotFoundError("a1")) and not is_transient(ValueError("x"))
    assert describe_cause(StoreUnavailableError("the server is down; retry")) == (
        "the server is down"
    )


# ---------------------------------------------------------------- a lost record


@pytest.fixture
def spool(tmp_path: Path) -> UploadSpool:
    spool = UploadSpool(tmp_path / "results")
    (tmp_path / "results").mkdir()
    spool.prepare()
    return spool


def queued_job(store: Any, spool: UploadSpool, job_id: str, data: bytes) -> SpooledUpload:
    store.save_job(job_id, {"id": job_id, "status": "queued", "filename": "people.csv"})
    return spool.write(job_id, io.BytesIO(data), 1 << 20)


@pytest.mark.parametrize("loss", ["deleted", "garbled"])
def test_a_job_whose_both_copies_are_lost_mid_run_is_written_afresh(
    tmp_path: Path, spool: UploadSpool, loss: str
) -> None:
    store = open_store(f"file://{tmp_path / 'jobs'}")
    upload = queued_job(store, spool, "a1", b"n\n1\n")
    record = JobRecord(store, upload, FAST, threading.Event())
    started = {"status": "running", "started_at": 1.0}
    record.start(lambda: store.update_job("a1", started), started)
    for path in store.paths_for("a1").values():
        if loss == "deleted":
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(b"\0garbage")

    final = record.record_outcome({"status": "done", "rows": 1})

    stored = store.get_job("a1")
    assert final == stored
    assert stored["status"] == "done" and stored["rows"] == 1 and "finished_at" in stored
    assert stored["filename"] == "people.csv"  # what the worker knew from the start
    assert "recreated_at" in stored
    upload.remove()


# ---------------------------------------------------------------- a job that cannot start


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs, filled to its last page after the test puts its store there."""
    yield from mounted_tmpfs(tmp_path / "disk", "4m")


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as out:
        for size in (65536, 4096, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC


def test_a_job_that_cannot_start_on_a_full_disk_is_queued_again_not_lost(
    full_disk: Path, tmp_path: Path, spool: UploadSpool
) -> None:
    store = open_store(f"file://{full_disk / 'jobs'}")
    upload = queued_job(store, spool, "a1", b"n\n1\n")
    fill(full_disk)
    requeued: list[SpooledUpload] = []

    final = run_job(
        store, upload, tmp_path / "results", retry=FAST, requeue=lambda u: not requeued.append(u)
    )

    assert final is None and requeued == [upload]
    assert store.get_job("a1")["status"] == "queued"
    assert upload.path.exists()  # kept for the next attempt
    os.unlink(full_disk / "filler")
    done = run_job(store, upload, tmp_path / "results", retry=FAST)
    assert done is not None and done["status"] == "done", done
    assert not upload.path.exists()


class StopOnLog(logging.Handler):
    """Sets ``stop`` when a log message contains ``text``: a shutdown at an exact moment."""

    def __init__(self, stop: threading.Event, text: str) -> None:
        super().__init__()
        self.stop, self.text = stop, text

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.stop.set()


def test_a_shutdown_while_a_job_cannot_start_leaves_it_for_the_next_start_up(
    full_disk: Path, tmp_path: Path, spool: UploadSpool
) -> None:
    store = open_store(f"file://{full_disk / 'jobs'}")
    upload = queued_job(store, spool, "a1", b"n\n1\n")
    fill(full_disk)
    stop = threading.Event()
    handler = StopOnLog(stop, "retrying for up to")
    service_log = logging.getLogger("durable_jobs.service")
    service_log.addHandler(handler)
    try:
        final = run_job(
            store,
            upload,
            tmp_path / "results",
            stop=stop,
            retry=RetryPolicy(total_seconds=60),
            requeue=lambda _: pytest.fail("requeued while shutting down"),
        )
    finally:
        service_log.removeHandler(handler)

    assert final is None and stop.is_set()
    assert store.get_job("a1")["status"] == "queued"
    adopted = spool.claim("a1")  # released: the next start-up can adopt it
    assert adopted is not None
    adopted.release()


# ---------------------------------------------------------------- a fenced write refused


def test_an_outcome_refused_by_fencing_is_neither_retried_nor_rewritten(
    tmp_path: Path, spool: UploadSpool
) -> None:
    """A worker cut off past its lease finds its job rescued: it writes nothing more at all.

    The fenced write is refused with LeaseLostError, which is not an outage (no retry) and not a
    lost record (no fresh save that would bring the rescued job back as done).
    """
    store = open_store(f"file://{tmp_path / 'jobs'}")
    upload = queued_job(store, spool, "a1", b"n\n1\n")
    held = HeldLease("a1", new_lease("instance-a", 30.0))
    store.update_job("a1", {"status": "running", "lease": held.record})
    rescued = {"status": "error", "error": "abandoned: lease expired", "lease": None}
    store.update_job("a1", rescued)  # another instance's rescue, while this one was paused
    writes: list[str] = []

    class Counting:
        """A store counting the writes the worker makes through it."""

        def __init__(self, inner: Any, label: str) -> None:
            self.inner, self.label = inner, label

        def update_job(self, job_id: str, changes: dict[str, Any], **kwargs: Any) -> Any:
            writes.append(f"{self.label} update")
            return self.inner.update_job(job_id, changes, **kwargs)

        def save_job(self, job_id: str, job: dict[str, Any]) -> None:
            writes.append(f"{self.label} save")
            self.inner.save_job(job_id, job)

    # The worker's writes pass the fence; what reaches the store is counted inside it.
    worker_view = Counting(held.fenced(Counting(store, "store")), "worker")
    record = JobRecord(worker_view, upload, FAST, threading.Event())

    assert record.record_outcome({"status": "done", "rows": 1}) is None
    assert writes == ["worker update", "store update"]  # refused once: no retry, no fresh save
    assert held.lost.is_set()
    stored = store.get_job("a1")
    assert stored["status"] == "error" and stored["error"] == rescued["error"]
    upload.remove()
