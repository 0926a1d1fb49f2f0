"""The HTTP API of the job service: upload a CSV, poll its job, download the enriched result.

This is the incident's CSV-enrichment API done right. A client's whole conversation::

    POST /jobs  (multipart, field "file")   202 {"id": "9f2c...", "status": "queued"}
    GET  /jobs/9f2c...                      200 {"id": ..., "status": "running", "progress": 0.4}
    GET  /jobs/9f2c...                      200 {"id": ..., "status": "done", "rows": 1200, ...}
    GET  /jobs/9f2c.../download             200 text/csv attachment

What the incident's service got wrong, and the rule here:

* **A status read never answers 500.** ``GET /jobs/{id}`` answers 200 with the job, 404 for an
  id that never existed or could never be valid (checked before the disk is touched), and 200
  ``{"id", "status": "unknown", "error"}`` when the job cannot be read, whatever the reason. A
  job restored from its backup carries ``_recovered``, so a UI can say so.
* **No job stays "running" forever.** Start-up runs ``store.recover()``, which fails the jobs
  whose worker process died, and the worker marks its jobs with its owner so that another live
  process's recovery leaves them alone (see :mod:`durable_jobs.service.worker`).
* **"done" means downloadable.** The result file is durable before the job says ``done``; a
  download answers 409 (with the status) before that, and 410 if the file has since vanished.
* **A 202 survives a crash.** The upload is spooled to disk and fsynced before the job is
  recorded and 202 sent; a server that starts finds the queued jobs of a dead one and runs them
  (:mod:`durable_jobs.service.requeue`). The queue is bounded: 503 with ``Retry-After`` when full.
* **An outage is not a damaged job.** When the store cannot be reached, every endpoint answers
  503 with ``Retry-After`` and a detail that starts "storage unavailable" and names the cause
  (:mod:`durable_jobs.service.answers`); a damaged job is 200 ``unknown``; 500 never. Workers
  retry their writes through the outage (:mod:`durable_jobs.service.job_record`).

Build the app with :func:`create_app`; it only resolves settings, and touches no disk until the
server starts it (the lifespan opens the store, recovers it, and starts the job runner).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from durable_jobs.ids import is_valid_job_id
from durable_jobs.leases import LEASE_KEY
from durable_jobs.lifecycle import OWNER_KEY, current_owner
from durable_jobs.service.answers import (
    describe_store_failure,
    is_outage,
    retry_after,
    store_failure,
)
from durable_jobs.service.lifespan import RunningService, start_service, stop_service
from durable_jobs.service.results import result_name
from durable_jobs.service.settings import ServiceSettings
from durable_jobs.service.upload import FILE_FIELD, CsvUpload, read_csv_upload
from durable_jobs.service.worker import QueueFullError

log = logging.getLogger("durable_jobs.service")

INTERNAL_KEYS = frozenset({OWNER_KEY, LEASE_KEY})
"""Job keys the service keeps for itself: who runs the job is not the client's business."""
DOWNLOAD_CHUNK_BYTES = 64 * 1024


def create_app(
    store_url: str | None = None,
    results_dir: str | os.PathLike[str] | None = None,
    max_upload_bytes: int | None = None,
    row_delay: float | None = None,
    *,
    worker_threads: int | None = None,
    queue_limit: int | None = None,
    store_retry_seconds: float | None = None,
) -> FastAPI:
    """Build the job service. Each argument left None comes from the environment, then defaults.

    See :mod:`durable_jobs.service.settings` for the variables. Raises
    :class:`~durable_jobs.service.settings.ServiceConfigError` for a value it cannot use. Nothing
    is created on disk here: the store is opened and recovered when the server starts.
    """
    settings = ServiceSettings.resolve(
        store_url=store_url,
        results_dir=results_dir,
        max_upload_bytes=max_upload_bytes,
        row_delay=row_delay,
        worker_threads=worker_threads,
        queue_limit=queue_limit,
        store_retry_seconds=store_retry_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await run_in_threadpool(start_service, settings)
        app.state.service = service
        try:
            yield
        finally:
            await run_in_threadpool(stop_service, service)

    app = FastAPI(
        title="durable_jobs CSV enrichment service",
        summary="Upload a CSV, poll its job, download the enriched result.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(router)
    return app


router = APIRouter()


@router.post(
    "/jobs",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [FILE_FIELD],
                        "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def submit_job(request: Request) -> JSONResponse:
    """Accept a CSV upload and queue its job; answer 202 with the job's id.

    The upload is on disk (fsynced) and the job recorded before 202. 413 beyond the upload
    limit, 400/415/422 for a request that is not a CSV upload (permanent), 503 with
    ``Retry-After`` when the queue is full or the job could not be recorded (nothing was
    queued; retry).
    """
    service = _running(request)
    try:
        service.runner.reserve()  # before reading the body: a full queue costs no upload
    except QueueFullError as error:
        raise HTTPException(503, str(error), headers={"Retry-After": retry_after(error)}) from None
    try:
        job_id = secrets.token_hex(8)
        upload = await read_csv_upload(
            request, service.settings.max_upload_bytes, service.spool, job_id
        )
        await _record_new_job(service, job_id, upload)
    except BaseException:
        service.runner.cancel()
        raise
    try:
        service.runner.submit(upload.spooled)
    except RuntimeError:  # the runner was shut down: the server is stopping
        service.runner.cancel()
        await run_in_threadpool(_fail_unstarted_job, service.store, job_id)
        service.keeper.release(job_id)
        upload.spooled.remove()
        raise HTTPException(
            503, "the service is shutting down; retry in a moment", headers={"Retry-After": "5"}
        ) from None
    return JSONResponse(
        {"id": job_id, "status": "queued"}, status_code=202, headers={"Location": f"/jobs/{job_id}"}
    )


async def _record_new_job(service: RunningService, job_id: str, upload: CsvUpload) -> None:
    """Save the queued job, leased to this instance; on any failure remove its spooled upload
    and raise the answer."""
    held = service.keeper.new_lease(job_id)
    job = {
        "id": job_id,
        "status": "queued",
        "owner": current_owner(),
        LEASE_KEY: held.record,
        "filename": upload.filename,
        "bytes": upload.spooled.size,
        "created_at": time.time(),
        "progress": 0.0,
        "rows_done": 0,
    }
    try:
        await run_in_threadpool(service.store.save_job, job_id, job)
        service.keeper.hold(held)  # renewed from now on, released when the job ends
    except Exception as error:
        # A store may let a raw OSError through (EROFS on a lock file): still a 503, never 500.
        upload.spooled.remove()
        log.error("job for %r not created: %s", upload.filename, describe_store_failure(error))
        raise store_failure(error, "record the job") from None


def _fail_unstarted_job(store: Any, job_id: str) -> None:
    try:
        store.update_job(
            job_id, {"status": "error", "error": "the service was shutting down; resubmit the CSV"}
        )
    except Exception:  # the job stays queued; the next start-up fails it (its upload is gone)
        log.exception("job %s: could not record that it was never started", job_id)


@router.get("/jobs/{job_id}")
def read_job(job_id: str, request: Request) -> JSONResponse:
    """The job's public state; 404 for an unknown or invalid id; never 500.

    A job that cannot be read answers 200 ``{"id", "status": "unknown", "error"}``, so a UI
    polling it shows the problem instead of an "Internal Server Error".
    """
    if not is_valid_job_id(job_id):
        return _invalid_id(job_id)
    try:
        job = _running(request).store.get_job(job_id)
        if job is None:
            return _no_such_job(job_id)
        return JSONResponse(public_view(job_id, job))
    except Exception as error:
        if is_outage(error) or isinstance(error, RuntimeError):
            return _unavailable(f"cannot read job {job_id} now", error)
        log.exception("GET /jobs/%s failed", job_id)
        return JSONResponse(_unknown_job(job_id, error))


@router.get("/jobs/{job_id}/download", response_model=None)
def download_result(job_id: str, request: Request) -> Response:
    """The enriched CSV as an attachment once the job is ``done``.

    404 unknown or invalid id; 409 ``{"detail", "status"}`` while the job is not done (queued,
    running, failed or unreadable); 410 when the job is done but its file has gone; never 500
    (an unexpected failure answers 503 with status ``unknown``).
    """
    if not is_valid_job_id(job_id):
        return _invalid_id(job_id)
    try:
        service = _running(request)
        job = service.store.get_job(job_id)
        if job is None:
            return _no_such_job(job_id)
        if job.get("status") != "done":
            return _not_downloadable(job_id, job)
        path = service.settings.results_dir / result_name(job_id)
        try:
            # Opened here, not by the response: a file deleted between the check and the
            # send would otherwise fail in the middle of the response.
            result = open(path, "rb")  # noqa: SIM115 (closed by _stream_and_close)
        except FileNotFoundError:
            return _result_gone(job_id, path)
        size = os.fstat(result.fileno()).st_size
    except Exception as error:
        if not is_outage(error):
            log.exception("GET /jobs/%s/download failed", job_id)
        return _unavailable("cannot serve the result now", error, status="unknown")
    return StreamingResponse(
        _stream_and_close(result),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{download_name(job)}"',
            "Content-Length": str(size),
        },
    )


@router.get("/jobs")
def list_jobs(request: Request) -> JSONResponse:
    """The ids of every stored job, sorted."""
    try:
        return JSONResponse({"jobs": _running(request).store.list_jobs()})
    except Exception as error:
        if not is_outage(error):
            log.exception("GET /jobs failed")
        return _unavailable("cannot list jobs", error)


@router.get("/healthz")
def health(request: Request) -> JSONResponse:
    """200 ``{"ok": true, "store": ...}`` once the store is open and recovered."""
    service = getattr(request.app.state, "service", None)
    if service is None:
        return JSONResponse({"ok": False, "detail": "the service is not started"}, status_code=503)
    return JSONResponse({"ok": True, "store": repr(service.store)})


def public_view(job_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """The job as clients see it: internal keys removed, ``id`` always present."""
    view = {key: value for key, value in job.items() if key not in INTERNAL_KEYS}
    view.setdefault("id", job_id)
    return view


def download_name(job: dict[str, Any]) -> str:
    """``<uploaded name>-enriched.csv``, reduced to characters safe in a header."""
    stem = Path(str(job.get("filename") or "result")).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "result"
    return f"{stem[:100]}-enriched.csv"


def _running(request: Request) -> RunningService:
    service: RunningService | None = getattr(request.app.state, "service", None)
    if service is None:
        raise RuntimeError("the service is not started (its lifespan has not run)")
    return service


def _stream_and_close(result: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := result.read(DOWNLOAD_CHUNK_BYTES):
            yield chunk
    finally:
        result.close()


def _invalid_id(job_id: str) -> JSONResponse:
    # 404, not 400: from the client's side, there is no such job, and never will be.
    shown = job_id if len(job_id) <= 40 else job_id[:40] + "..."
    return JSONResponse(
        {"detail": f"no job {shown!r}: job ids are 1-128 letters, digits, '-' or '_'"},
        status_code=404,
    )


def _no_such_job(job_id: str) -> JSONResponse:
    return JSONResponse({"detail": f"no job {job_id!r}"}, status_code=404)


def _not_downloadable(job_id: str, job: dict[str, Any]) -> JSONResponse:
    status = job.get("status")
    if status == "error":
        detail = f"job {job_id} failed, there is nothing to download: {job.get('error')}"
    elif status == "unknown":
        detail = f"job {job_id} cannot be read: {job.get('error')}"
    else:
        percent = 100 * float(job.get("progress") or 0)
        detail = f"job {job_id} is {status} ({percent:.0f}%); download it once its status is 'done'"
    body: dict[str, Any] = {"detail": detail, "status": status}
    if "error" in job:
        body["error"] = job["error"]
    return JSONResponse(body, status_code=409)


def _result_gone(job_id: str, path: Path) -> JSONResponse:
    log.error("job %s is done but its result %s is missing", job_id, path)
    return JSONResponse(
        {
            "detail": (
                f"job {job_id} is done but its result file {path.name} is gone from the "
                "results directory (deleted, or the server's results directory changed); "
                "resubmit the CSV"
            ),
            "status": "done",
        },
        status_code=410,
    )


def _unavailable(what: str, error: BaseException, **extra: Any) -> JSONResponse:
    """503 with ``Retry-After``: the store (not the job) failed; the client polls again later.

    The detail starts with "storage unavailable", which a damaged job's answer (200, status
    ``unknown``) never says: a client can tell a passing outage from a job that is lost.
    """
    outage = "storage unavailable: " if is_outage(error) else ""
    detail = f"{outage}{what}: {describe_store_failure(error)}; retry later"
    return JSONResponse(
        {"detail": detail, **extra},
        status_code=503,
        headers={"Retry-After": retry_after(error)},
    )


def _unknown_job(job_id: str, error: BaseException) -> dict[str, Any]:
    return {"id": job_id, "status": "unknown", "error": f"cannot read the job: {_describe(error)}"}


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
