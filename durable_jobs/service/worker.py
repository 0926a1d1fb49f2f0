"""The worker: takes one job from ``queued`` to ``done`` or ``error``, recording progress.

Each arrow is one ``store.update_job``, an atomic merge into the stored job::

    queued --start------------------------> running   owner = this process, started_at
    running --every ~100 ms----------------> running   progress (0..1), rows_done
    running --result file durable, then----> done      rows, result, progress = 1
    running --any exception----------------> error     error = what went wrong, and where
    done | error --------------------------> (same)    finished_at: nothing changes after it

The ``owner`` mark and the job's lease (taken when the job was accepted, renewed by the
instance's heartbeat, :mod:`durable_jobs.service.leasing`) are what let any instance's rescuer
tell a job a live instance is running from one whose instance died or stopped: the first is
left alone, the second is failed with a reason, so no job stays ``running`` forever. Every write
of the worker is fenced by its lease: once another instance rescued the job (this one was
paused past its lease), the write is refused with ``LeaseLostError`` and the job stops here,
leaving the rescued job as it is. The terminal state is only written after
the result file is durable, so ``done`` always means "downloadable". ``finished_at`` comes in
a write of its own, the job's last (see :class:`~durable_jobs.service.job_record.JobRecord`).

**Outages.** Every write goes through a :class:`~durable_jobs.service.job_record.JobRecord`:
a write the store refuses for a while (database restarting, disk full, file system read-only)
is retried with backoff for up to ``$DURABLE_JOBS_STORE_RETRY_SECONDS`` (120 s), progress
writes are skipped meanwhile, and past the bound the job is failed with the real cause
("could not record the result: no space left on device (ENOSPC) for 120 s"). A job that could
not even start is queued again, not lost. A job whose stored record was destroyed while it ran
is written afresh from what the worker knows.

Jobs run on a small pool of threads (:class:`JobRunner`); a job waits ``queued`` for a free
thread, in a bounded queue of job ids (their uploads are on disk, see
:mod:`durable_jobs.service.spool`): when it is full, :meth:`JobRunner.reserve` raises
:class:`QueueFullError` and the API answers 503 with ``Retry-After`` before reading the upload.
A job's spooled upload is removed when the job ends. At shutdown the runner stops its jobs
between two rows and fails them with a reason ("the service shut down"), rather than leaving
them for the next start-up to discover.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import mmap
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from durable_jobs.errors import JobNotFoundError, LeaseLostError, describe_os_error
from durable_jobs.lifecycle import current_owner
from durable_jobs.service.enrich import CsvFormatError, CsvRecords, enrich_records
from durable_jobs.service.job_record import JobRecord
from durable_jobs.service.leasing import LeaseKeeper
from durable_jobs.service.results import result_name, write_durably
from durable_jobs.service.spool import SpooledUpload
from durable_jobs.service.store_retry import RetryPolicy, StoreWriteGaveUp, is_transient

log = logging.getLogger("durable_jobs.service")

PROGRESS_INTERVAL_SECONDS = 0.1
"""At most one progress write per interval: each write is an fsync, and rows are cheap."""


class JobInterrupted(Exception):
    """The service is shutting down; the job stops between two rows."""


class QueueFullError(Exception):
    """Every queue slot is taken: the upload is refused before it is read (503, retry later)."""

    def __init__(self, limit: int, retry_after: float) -> None:
        super().__init__(
            f"the job queue is full ({limit} jobs waiting for a worker); retry in "
            f"{retry_after:g} s, or raise DURABLE_JOBS_QUEUE_LIMIT on the server"
        )
        self.retry_after = retry_after


class JobRunner:
    """Runs jobs on a pool of threads in this process, and stops them cleanly at shutdown.

    The queue holds spooled uploads (a job id and a file descriptor), never their bytes. A
    request takes a slot with :meth:`reserve` before it reads its upload, and hands the slot to
    :meth:`submit` or gives it back with :meth:`cancel`; jobs adopted at start-up (already
    accepted once) go in with :meth:`adopt`, outside the limit.
    """

    RETRY_AFTER_SECONDS = 5.0

    def __init__(
        self,
        store: Any,
        results_dir: Path,
        *,
        row_delay: float = 0.0,
        threads: int = 4,
        queue_limit: int = 100,
        store_retry: RetryPolicy | None = None,
        keeper: LeaseKeeper | None = None,
    ) -> None:
        self.store = store
        self.keeper = keeper
        self.results_dir = results_dir
        self.row_delay = row_delay
        self.store_retry = store_retry or RetryPolicy()
        self.queue_limit = queue_limit
        self._stopping = threading.Event()
        self._queue: queue.Queue[tuple[SpooledUpload, bool] | None] = queue.Queue()
        self._slots = threading.Semaphore(queue_limit)
        self._threads = [
            threading.Thread(target=self._work, name=f"job-{number}", daemon=True)
            for number in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def reserve(self) -> None:
        """Take a queue slot, or raise :class:`QueueFullError`."""
        if not self._slots.acquire(blocking=False):
            raise QueueFullError(self.queue_limit, self.RETRY_AFTER_SECONDS)

    def cancel(self) -> None:
        """Give back a slot taken by :meth:`reserve` (the request failed before its job queued)."""
        self._slots.release()

    def submit(self, upload: SpooledUpload) -> None:
        """Queue a job whose slot was reserved; raises RuntimeError after shutdown."""
        self._put(upload, reserved=True)

    def adopt(self, upload: SpooledUpload) -> None:
        """Queue a job found spooled at start-up (no slot: it was accepted before)."""
        self._put(upload, reserved=False)

    def shutdown(self) -> None:
        """Stop every job between two rows (each ends ``error``) and wait for the threads."""
        self._stopping.set()
        # Queued jobs still run, but only to record that they were interrupted: a job left
        # "queued" would wait for the next start-up's recovery to be failed.
        for _ in self._threads:
            self._queue.put(None)  # one stop sign per thread, after every queued job
        for thread in self._threads:
            thread.join()

    def _requeue(self, upload: SpooledUpload) -> bool:
        """Queue again a job that could not start (the store stayed away); False at shutdown."""
        try:
            self._put(upload, reserved=False)
        except RuntimeError:
            return False
        return True

    def _put(self, upload: SpooledUpload, *, reserved: bool) -> None:
        if self._stopping.is_set():
            raise RuntimeError("the job runner is shut down")
        self._queue.put((upload, reserved))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            upload, reserved = item
            if reserved:
                self._slots.release()  # the job leaves the queue: its slot is free
            held = self.keeper.held(upload.job_id) if self.keeper else None
            try:
                run_job(
                    held.fenced(self.store) if held else self.store,
                    upload,
                    self.results_dir,
                    row_delay=self.row_delay,
                    stop=self._stopping,
                    retry=self.store_retry,
                    requeue=self._requeue,
                )
            except BaseException:  # run_job never raises; a bug must not kill the thread
                log.exception("job %s: the worker failed", upload.job_id)
            finally:
                if self.keeper:
                    self.keeper.release(upload.job_id)


def run_job(
    store: Any,
    upload: SpooledUpload,
    results_dir: Path,
    *,
    row_delay: float = 0.0,
    stop: threading.Event | None = None,
    retry: RetryPolicy | None = None,
    requeue: Callable[[SpooledUpload], bool] | None = None,
) -> dict[str, Any] | None:
    """Run one job to its end and return the final job (None if it was not recorded).

    Never raises: every failure ends the job as ``error`` with a message naming the cause.
    Store writes that fail transiently are retried under ``retry`` (see
    :mod:`durable_jobs.service.job_record`). A job that could not even be started because the
    store stayed away is handed back to ``requeue`` (which returns False if it cannot take it)
    with its upload, to run later; otherwise the job's spooled upload is removed at the end.
    """
    job = JobRecord(store, upload, retry or RetryPolicy(), stop or threading.Event())
    keep_upload = False
    try:
        outcome = _run_spooled_job(job, results_dir, row_delay)
        if outcome is _NOT_STARTED:
            # Still queued in the store: its upload must outlive this attempt, queued again
            # here or, at shutdown, left on disk for the next start-up to adopt.
            keep_upload = True
            if requeue is None or job.stop.is_set() or not requeue(upload):
                upload.release()
            return None
        return None if outcome is None else job.record_outcome(outcome)
    finally:
        if not keep_upload:
            upload.remove()


_NOT_STARTED: dict[str, Any] = {}
"""What :func:`_run_spooled_job` returns when the store stayed away before the job started."""


def _run_spooled_job(job: JobRecord, results_dir: Path, row_delay: float) -> dict[str, Any] | None:
    """Run the job; return the outcome to record, None (deleted) or :data:`_NOT_STARTED`."""
    store, job_id, stop = job.store, job.job_id, job.stop
    try:
        if stop.is_set():
            raise JobInterrupted
        started = {"status": "running", "owner": current_owner(), "started_at": time.time()}
        job.start(lambda: store.update_job(job_id, started), started)
    except JobNotFoundError:
        log.warning("job %s was deleted before it ran; its upload is discarded", job_id)
        return None
    except LeaseLostError as error:
        log.warning("job %s: not started, another instance took it over: %s", job_id, error)
        return None
    except StoreWriteGaveUp as outage:
        log.error("job %s could not start, it stays queued: %s", job_id, outage)
        return _NOT_STARTED
    except Exception as error:
        if stop.is_set() and is_transient(error):
            return _NOT_STARTED  # shut down while the store was away: the next start-up runs it
        return _failure_outcome(job_id, error)
    try:
        data = job.upload.data()
        try:
            rows = _write_enriched_result(job, data, results_dir, row_delay)
        finally:
            if not isinstance(data, bytes):
                with contextlib.suppress(BufferError):  # a parser's view may still be alive
                    data.close()
    except LeaseLostError as error:
        log.warning("job %s: stopped, another instance took it over: %s", job_id, error)
        return None
    except Exception as error:
        return _failure_outcome(job_id, error)
    return {
        "status": "done",
        "progress": 1.0,
        "rows_done": rows,
        "rows": rows,
        "result": result_name(job_id),
    }


def _failure_outcome(job_id: str, error: Exception) -> dict[str, Any]:
    if not isinstance(error, (CsvFormatError, JobInterrupted)):
        log.exception("job %s failed", job_id)
    return {"status": "error", "error": describe_failure(error)}


def describe_failure(error: BaseException) -> str:
    """The ``error`` message of a failed job: what went wrong, and what to do about it."""
    if isinstance(error, CsvFormatError):
        return f"invalid CSV: {error}"
    if isinstance(error, JobInterrupted):
        return "interrupted: the service shut down while the job was running; resubmit the CSV"
    if isinstance(error, OSError):
        return f"could not write the result file: {describe_os_error(error)}"
    return f"{type(error).__name__}: {error}"


def _write_enriched_result(
    job: JobRecord, data: bytes | mmap.mmap, results_dir: Path, row_delay: float
) -> int:
    """Enrich every row into the durable result file, reporting progress; return the row count."""
    store, job_id, stop = job.store, job.job_id, job.stop
    records = CsvRecords(data)
    rows_done = 0
    last_report = time.monotonic()
    with write_durably(results_dir, result_name(job_id)) as stream:
        writer = csv.writer(stream)
        for index, row in enumerate(enrich_records(records)):
            writer.writerow(row)
            if index == 0:
                continue  # the header is not a data row
            rows_done = index
            # Event.wait doubles as the demo delay and as an immediate wake-up at shutdown.
            if stop.wait(row_delay) if row_delay else stop.is_set():
                raise JobInterrupted
            now = time.monotonic()
            if now - last_report >= PROGRESS_INTERVAL_SECONDS:
                last_report = now
                progress = round(min(records.fraction_read, 0.999), 4)
                # partial, not lambda: the call is made now, with this row's values.
                job.report_progress(
                    partial(
                        store.update_job, job_id, {"progress": progress, "rows_done": rows_done}
                    )
                )
    return rows_done
