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
a write of its own, the job's last (see :func:`_record_outcome` for why).

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
from pathlib import Path
from typing import Any

from durable_jobs.errors import JobNotFoundError, LeaseLostError
from durable_jobs.lifecycle import current_owner
from durable_jobs.service.enrich import CsvFormatError, CsvRecords, enrich_records
from durable_jobs.service.leasing import LeaseKeeper
from durable_jobs.service.results import result_name, write_durably
from durable_jobs.service.spool import SpooledUpload

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
        keeper: LeaseKeeper | None = None,
    ) -> None:
        self.store = store
        self.keeper = keeper
        self.results_dir = results_dir
        self.row_delay = row_delay
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
) -> dict[str, Any] | None:
    """Run one job to its end and return the final job (None if the job was deleted meanwhile).

    Never raises: every failure ends the job as ``error`` with a message naming the cause, and a
    failure to record even that is logged (the job is then failed by the next recovery). The
    job's spooled upload is removed at the end, whatever the outcome.
    """
    try:
        return _run_spooled_job(store, upload, results_dir, row_delay, stop or threading.Event())
    finally:
        upload.remove()


def _run_spooled_job(
    store: Any,
    upload: SpooledUpload,
    results_dir: Path,
    row_delay: float,
    stop: threading.Event,
) -> dict[str, Any] | None:
    job_id = upload.job_id
    try:
        if stop.is_set():
            raise JobInterrupted
        store.update_job(
            job_id, {"status": "running", "owner": current_owner(), "started_at": time.time()}
        )
        data = upload.data()
        try:
            rows = _write_enriched_result(store, job_id, data, results_dir, row_delay, stop)
        finally:
            if not isinstance(data, bytes):
                with contextlib.suppress(BufferError):  # a parser's view may still be alive
                    data.close()
        outcome = {
            "status": "done",
            "progress": 1.0,
            "rows_done": rows,
            "rows": rows,
            "result": result_name(job_id),
        }
    except JobNotFoundError:
        log.warning("job %s was deleted while it ran; its result is discarded", job_id)
        return None
    except LeaseLostError as error:
        log.warning("job %s: stopped, another instance took it over: %s", job_id, error)
        return None
    except Exception as error:
        outcome = {"status": "error", "error": describe_failure(error)}
        if not isinstance(error, (CsvFormatError, JobInterrupted)):
            log.exception("job %s failed", job_id)
    return _record_outcome(store, job_id, outcome)


def describe_failure(error: BaseException) -> str:
    """The ``error`` message of a failed job: what went wrong, and what to do about it."""
    if isinstance(error, CsvFormatError):
        return f"invalid CSV: {error}"
    if isinstance(error, JobInterrupted):
        return "interrupted: the service shut down while the job was running; resubmit the CSV"
    if isinstance(error, OSError):
        return f"could not write the result file: {error}"
    return f"{type(error).__name__}: {error}"


def _write_enriched_result(
    store: Any,
    job_id: str,
    data: bytes | mmap.mmap,
    results_dir: Path,
    row_delay: float,
    stop: threading.Event,
) -> int:
    """Enrich every row into the durable result file, reporting progress; return the row count."""
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
                store.update_job(job_id, {"progress": progress, "rows_done": rows_done})
    return rows_done


def _record_outcome(store: Any, job_id: str, outcome: dict[str, Any]) -> dict[str, Any] | None:
    """Write the terminal state twice, the second time with ``finished_at``.

    The file store keeps the previous version as ``.bak`` and serves it when the job file is
    damaged. Written once, the backup of a finished job would be its last progress update, and
    damage to the job file would bring the job back as ``running``, owned by this live process,
    so no recovery would fail it. After the second write both versions are terminal. The second
    write repeats the whole outcome, not just ``finished_at``: if the job file is damaged between
    the two writes, ``update_job`` merges into the backup, which must then become terminal too.
    ``finished_at`` tells a client that the job will not change again.
    """
    try:
        store.update_job(job_id, outcome)
        final = {**outcome, "finished_at": time.time()}
        return store.update_job(job_id, final)  # type: ignore[no-any-return]
    except JobNotFoundError:
        log.warning("job %s was deleted while it ran", job_id)
    except LeaseLostError as error:
        log.warning(
            "job %s: outcome not recorded, another instance took it over: %s", job_id, error
        )
    except Exception:
        log.exception(
            "job %s: could not record its outcome %r; the next start-up's recovery will fail it",
            job_id,
            outcome.get("status"),
        )
    return None
