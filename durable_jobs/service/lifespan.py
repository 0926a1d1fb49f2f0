"""Start-up and shutdown of the job service: what the server's lifespan opens and closes.

Start-up, in this order (each step says why it comes where it does)::

    open the store                  a bad URL fails here, before anything is served
    remove half-written files       results and spooled uploads a crash left as temp files
    start the lease heartbeat       so that every job this instance holds keeps its lease
      and the job runner            and adopted jobs can be queued
    adopt a dead server's queued    before recover(), which would fail them as abandoned
      jobs (requeue)
    fail queued jobs without upload naming the lost upload, not just "abandoned"
    store.recover()                 every other job a dead worker left unfinished
    start the rescuer               from now on, every rescue_seconds, on every instance

Shutdown stops the rescuer, then the runner (running and queued jobs end ``error``,
"interrupted", written under their leases), then the heartbeat, and closes the store (a
PostgreSQL store's pool ends its connections).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from durable_jobs.leases import new_instance_id
from durable_jobs.service.leasing import LeaseKeeper
from durable_jobs.service.requeue import fail_queued_jobs_without_upload, requeue_spooled_jobs
from durable_jobs.service.rescuer import Rescuer
from durable_jobs.service.results import remove_orphaned_temp_files
from durable_jobs.service.settings import ServiceSettings
from durable_jobs.service.spool import UploadSpool
from durable_jobs.service.store_retry import RetryPolicy
from durable_jobs.service.worker import JobRunner
from durable_jobs.store import open_store

log = logging.getLogger("durable_jobs.service")


@dataclass(frozen=True, slots=True)
class RunningService:
    """What the lifespan opened, kept on ``app.state.service`` while the server runs."""

    settings: ServiceSettings
    store: Any
    runner: JobRunner
    spool: UploadSpool
    keeper: LeaseKeeper
    rescuer: Rescuer


def start_service(settings: ServiceSettings) -> RunningService:
    """Open the store, pick up a dead server's queued jobs, recover the rest, start the runner.

    Order matters: queued jobs are adopted (their owner becomes this process) before
    ``recover()``, which would otherwise fail them as abandoned.
    """
    store = open_store(settings.store_url)
    os.makedirs(settings.results_dir, exist_ok=True)
    removed = remove_orphaned_temp_files(settings.results_dir)
    spool = UploadSpool(settings.results_dir)
    removed += spool.prepare()
    if removed:
        log.warning("removed %d files left half-written by a crash", len(removed))
    keeper = LeaseKeeper(
        store,
        new_instance_id(),
        lease_seconds=settings.lease_seconds,
        heartbeat_seconds=settings.heartbeat_seconds,
    )
    keeper.start()
    runner = JobRunner(
        store,
        settings.results_dir,
        row_delay=settings.row_delay,
        threads=settings.worker_threads,
        queue_limit=settings.queue_limit,
        store_retry=RetryPolicy(total_seconds=settings.store_retry_seconds),
        keeper=keeper,
    )
    rescuer = Rescuer(store, settings.rescue_seconds, grace=settings.lease_seconds)
    try:
        started = time.monotonic()
        report = requeue_spooled_jobs(store, spool, runner, keeper)
        report["lost_uploads_failed"] = fail_queued_jobs_without_upload(store, spool)
        recovered = store.recover()
        report |= recovered.as_dict() if hasattr(recovered, "as_dict") else dict(recovered)
        _log_recovery(store, report, time.monotonic() - started)
    except BaseException:
        runner.shutdown()
        keeper.stop()
        store.close()
        raise
    rescuer.start()
    log.info(
        "job service ready: store %r, results in %s, uploads up to %d bytes, queue of %d",
        store,
        settings.results_dir,
        settings.max_upload_bytes,
        settings.queue_limit,
    )
    return RunningService(
        settings=settings, store=store, runner=runner, spool=spool, keeper=keeper, rescuer=rescuer
    )


def stop_service(service: RunningService) -> None:
    """Stop the running jobs (each ends ``error``, "interrupted"), then close the store."""
    service.rescuer.stop()
    service.runner.shutdown()
    service.keeper.stop()
    service.store.close()


def _log_recovery(store: Any, report: dict[str, Any], seconds: float) -> None:
    changed = {key: value for key, value in report.items() if value}
    if not changed:
        log.info("recovery of %r: nothing to do (%.3f s)", store, seconds)
        return
    # WARNING, not INFO: jobs were failed or files repaired, and an operator should see it.
    log.warning("recovery of %r (%.3f s): %s", store, seconds, changed)
