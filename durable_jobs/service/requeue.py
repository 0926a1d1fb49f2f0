"""Start-up: queued jobs whose server died are run again from their spooled uploads.

A crash used to fail every queued job, because their uploads lived in memory. Now each upload
is on disk (:mod:`durable_jobs.service.spool`), so at start-up, before ``store.recover()``::

    spooled upload, lock free, job queued      -> adopted: owner and lease = this instance
    spooled upload, lock free, job not queued  -> the upload is removed (job ended or running*)
    spooled upload, lock held                  -> left alone: a live server runs it
    job queued, owner dead, no upload          -> error: "the uploaded CSV was lost ..."

(*) a job a dead worker left ``running`` is not run twice: ``recover()`` fails it, as before.
Adoption changes the job's owner to this live process and gives it a lease of this instance
(a fenced write: refused if a rescuer failed the job meanwhile), so the recovery that follows
leaves it alone. The lock on the upload makes adoption exclusive among servers starting together.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from durable_jobs.errors import LeaseLostError
from durable_jobs.leases import LEASE_KEY, TOKEN_PATH, lease_token
from durable_jobs.lifecycle import OWNER_KEY, current_owner, is_abandoned
from durable_jobs.service.leasing import LeaseKeeper
from durable_jobs.service.spool import UploadSpool
from durable_jobs.service.worker import JobRunner

log = logging.getLogger("durable_jobs.service")


def requeue_spooled_jobs(
    store: Any, spool: UploadSpool, runner: JobRunner, keeper: LeaseKeeper
) -> dict[str, list[str]]:
    """Adopt every free spooled upload of a queued job; remove the uploads no job needs."""
    requeued: list[str] = []
    removed: list[str] = []
    for job_id in spool.job_ids():
        upload = spool.claim(job_id)
        if upload is None:
            continue  # held by a live server
        try:
            job = store.get_job(job_id)
            status = None if job is None else job.get("status")
            if status == "unknown":
                upload.release()  # unreadable for now: keep the upload, decide next time
                continue
            if status != "queued":
                upload.remove()
                removed.append(job_id)
                continue
            if not _take_over(store, keeper, job_id, job):
                upload.release()
                continue
        except BaseException:
            upload.release()
            raise
        runner.adopt(upload)
        requeued.append(job_id)
    return {"requeued": requeued, "spooled_uploads_removed": removed}


def _take_over(store: Any, keeper: LeaseKeeper, job_id: str, job: dict[str, Any]) -> bool:
    """Give the queued ``job`` this instance's owner and a new lease; False if it changed."""
    held = keeper.new_lease(job_id)
    changes = {OWNER_KEY: current_owner(), LEASE_KEY: held.record, "requeued_at": time.time()}
    try:
        store.update_job(job_id, changes, expect={"status": "queued", TOKEN_PATH: lease_token(job)})
    except LeaseLostError:
        return False  # a rescuer failed it, or another server took it, since it was read
    keeper.hold(held)
    return True


def fail_queued_jobs_without_upload(store: Any, spool: UploadSpool) -> list[str]:
    """End queued jobs of dead servers whose upload is gone, saying so (not just "abandoned")."""
    failed: list[str] = []
    for job_id in store.list_jobs():
        job = store.get_job(job_id)
        if not job or job.get("status") != "queued" or not is_abandoned(job):
            continue
        if spool.exists(job_id):
            continue  # another server starting now may adopt it
        outcome = {
            "status": "error",
            "error": (
                "the uploaded CSV was lost: the server stopped before this job started and its "
                f"spooled upload is not in {spool.folder} (deleted, or the server's results "
                "folder changed); resubmit the CSV"
            ),
        }
        # Twice, as the worker records an outcome: the backup must be terminal too.
        store.update_job(job_id, outcome)
        store.update_job(job_id, {**outcome, "finished_at": time.time()})
        failed.append(job_id)
    return failed
