"""One running job's writes to the store: retried through outages, rewritten when lost.

The worker (:mod:`durable_jobs.service.worker`) says *what* to write; a :class:`JobRecord`
decides what happens when the write fails::

    record = JobRecord(store, upload, policy, stop)
    record.start(lambda: store.update_job(job_id, {"status": "running", ...}))
    record.report_progress(lambda: store.update_job(job_id, {"progress": 0.4}))
    record.record_outcome({"status": "done", "rows": 1200, ...})

=====================  =====================================================================
write                  when the store fails
=====================  =====================================================================
start                  retried (:func:`~durable_jobs.service.store_retry.write_with_retry`);
                       past the budget :class:`StoreWriteGaveUp`: the job stays queued
progress               best effort: skipped while the store is away, or the record lost
                       (the next one, or the outcome, says more)
outcome                retried for the budget; past it, the job is failed with the real
                       cause ("could not record the result: no space left on device
                       (ENOSPC) for 120 s"), that write retried for the budget again;
                       past that too, logged, and the job left to recovery
=====================  =====================================================================

**A lost record is rewritten.** When both copies of a job are destroyed while it runs
(``update_job`` raises :class:`~durable_jobs.errors.JobNotFoundError` or
:class:`~durable_jobs.errors.JobUnreadableError`), the worker still knows the job: what the
store returned at its start, plus its outcome. The outcome is then saved as a fresh record
(``save_job``), marked ``recreated_at``, instead of being lost with the job. A start whose
record is unreadable is rewritten the same way; a start whose record does not exist is not
(nothing says the job was ever accepted: it was deleted).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from durable_jobs.errors import JobNotFoundError, JobUnreadableError, LeaseLostError
from durable_jobs.service.spool import SpooledUpload
from durable_jobs.service.store_retry import (
    RetryPolicy,
    StoreWriteGaveUp,
    describe_cause,
    is_transient,
    write_with_retry,
)

log = logging.getLogger("durable_jobs.service")

Write = Callable[[], Any]


class JobRecord:
    """The store writes of one job run by this worker, and the job as the worker knows it."""

    def __init__(
        self, store: Any, upload: SpooledUpload, policy: RetryPolicy, stop: threading.Event
    ) -> None:
        self.store, self.upload, self.policy, self.stop = store, upload, policy, stop
        self.job_id = upload.job_id
        # What the worker would rewrite if the stored record were lost: refreshed by every
        # write that returns the stored job.
        self.known: dict[str, Any] = {"id": self.job_id, "bytes": upload.size}
        self._progress_skipped = 0

    def start(self, write: Write, changes: dict[str, Any] | None = None) -> None:
        """Mark the job started; raises :class:`StoreWriteGaveUp` if the store stays away."""
        try:
            self._remember(self._retried(write, "start"))
        except JobUnreadableError as lost:
            self._rewrite(changes or {"status": "running"}, lost)

    def report_progress(self, write: Write) -> None:
        """Write progress if the store takes it now; a failed progress write is not retried."""
        try:
            self._remember(write())
        except (JobNotFoundError, JobUnreadableError) as error:
            self._skip_progress(error)
        except Exception as error:
            if not is_transient(error):
                raise
            self._skip_progress(error)

    def record_outcome(self, outcome: dict[str, Any]) -> dict[str, Any] | None:
        """Write the terminal state (twice, see :meth:`_write_terminal`); never raises."""
        try:
            return self._write_terminal(outcome)
        except StoreWriteGaveUp as outage:
            if self.known.get("status") == outcome.get("status"):
                # The first write landed: the job is terminal, only finished_at is missing.
                log.error("job %s: finished_at not recorded: %s", self.job_id, outage)
                return self.known
            return self._record_unrecorded(outcome, outage)
        except LeaseLostError as error:
            # Fenced: another instance rescued the job while this one was paused or cut off.
            # Its record is theirs now; writing anything would undo the rescue.
            log.warning(
                "job %s: outcome not recorded, another instance took it over: %s",
                self.job_id,
                error,
            )
        except Exception:
            log.exception(
                "job %s: could not record its outcome %r; recovery will fail it",
                self.job_id,
                outcome.get("status"),
            )
        return None

    def _record_unrecorded(
        self, outcome: dict[str, Any], outage: StoreWriteGaveUp
    ) -> dict[str, Any] | None:
        """Fail the job with the real cause its outcome could not be written (retried too)."""
        failed = {"status": "error", "error": _unrecorded(outcome, outage)}
        log.error("job %s: %s", self.job_id, failed["error"])
        try:
            return self._write_terminal(failed)
        except Exception:
            log.exception(
                "job %s: could not record that its outcome was lost either; recovery will fail it",
                self.job_id,
            )
        return None

    def _write_terminal(self, outcome: dict[str, Any]) -> dict[str, Any]:
        """Write the terminal state twice, the second time with ``finished_at``.

        The file store keeps the previous version as ``.bak`` and serves it when the job file
        is damaged. Written once, the backup of a finished job would be its last progress
        update, and damage to the job file would bring the job back as ``running``, owned by
        this live process, so no recovery would fail it. After the second write both versions
        are terminal. The second write repeats the whole outcome, not just ``finished_at``: if
        the job file is damaged between the two writes, ``update_job`` merges into the backup,
        which must then become terminal too. ``finished_at`` tells a client that the job will
        not change again.
        """
        self._update(outcome)
        return self._update({**outcome, "finished_at": time.time()})

    def _update(self, changes: dict[str, Any]) -> dict[str, Any]:
        try:
            stored = self._retried(lambda: self.store.update_job(self.job_id, changes), "outcome")
        except (JobNotFoundError, JobUnreadableError) as lost:
            return self._rewrite(changes, lost)
        self._remember(stored)
        return stored if isinstance(stored, dict) else {**self.known, **changes}

    def _rewrite(self, changes: dict[str, Any], lost: Exception) -> dict[str, Any]:
        """Save the job as the worker knows it, with ``changes``: its stored record is lost."""
        log.warning(
            "job %s: its stored record is lost (%s); writing a fresh one from the worker's copy",
            self.job_id,
            lost,
        )
        fresh = {**self.known, **changes, "recreated_at": time.time()}
        self._retried(lambda: self.store.save_job(self.job_id, fresh), "rewrite")
        self.known = fresh
        return fresh

    def _retried(self, write: Write, step: str) -> Any:
        what = f"job {self.job_id}: the {step} write"
        return write_with_retry(write, self.policy, stop=self.stop, what=what)

    def _remember(self, stored: Any) -> None:
        if isinstance(stored, dict):
            self.known = dict(stored)

    def _skip_progress(self, error: Exception) -> None:
        self._progress_skipped += 1
        if self._progress_skipped == 1:  # once per job: an outage must not flood the log
            log.warning(
                "job %s: a progress write failed (%s); the job goes on, later writes retry",
                self.job_id,
                describe_cause(error),
            )


def _unrecorded(outcome: dict[str, Any], outage: StoreWriteGaveUp) -> str:
    """The error of a job whose outcome could not be recorded: the real cause, and how long."""
    cause = f"{outage.reason} for {outage.seconds:.0f} s"
    if outcome.get("status") == "done":
        return (
            f"could not record the result: {cause}; the store was unavailable, resubmit the CSV "
            f"(last error: {outage.cause})"
        )
    return f"{outcome.get('error')}; then could not record this failure: {cause}"
