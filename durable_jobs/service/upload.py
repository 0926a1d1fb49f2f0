"""Reading the uploaded CSV from a ``multipart/form-data`` request, with a hard size limit.

The client sends the file in the field ``file``::

    curl -F file=@people.csv http://127.0.0.1:8000/jobs

The limit is enforced while the body arrives, not after: a request that declares a larger
``Content-Length`` is refused before a byte is read, and a body sent without one (chunked) is
cut off as soon as it passes the limit. Without this, FastAPI's ``UploadFile`` would spool the
whole body, however large, before the endpoint could say no. The body may exceed the file by
the multipart framing (boundaries and part headers), so the request is allowed
:data:`MULTIPART_OVERHEAD_BYTES` more than the file; the file itself is then checked exactly.

The file is never held in memory: the multipart parser spools it to a temporary file, which is
then copied into the job's durable upload (:mod:`durable_jobs.service.spool`) in 1 MiB chunks.
A file name that can never be stored (a NUL or another control character) is refused with 400,
a permanent answer: resending the same request cannot succeed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

# Starlette's UploadFile: the parser makes these (FastAPI's class is a subclass of it).
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from durable_jobs.errors import describe_os_error
from durable_jobs.service.spool import SpooledUpload, UploadSpool, UploadTooLarge

FILE_FIELD = "file"
MULTIPART_OVERHEAD_BYTES = 16 * 1024
MAX_FILENAME_LENGTH = 255
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_USAGE = f"send the CSV as multipart/form-data in the field {FILE_FIELD!r} (curl -F file=@data.csv)"


@dataclass(frozen=True, slots=True)
class CsvUpload:
    """An uploaded file, complete, within the limit, and durable in the spool."""

    filename: str
    spooled: SpooledUpload


class _BodyTooLarge(Exception):
    """Raised from inside the body stream to stop the multipart parser at the limit."""


async def read_csv_upload(
    request: Request, max_bytes: int, spool: UploadSpool, job_id: str
) -> CsvUpload:
    """Spool the file of a ``POST /jobs`` request as ``job_id``'s upload, or raise the HTTP error
    that explains the refusal.

    413 when the file (or the body) is larger than ``max_bytes``, 415 when the request is not
    multipart, 400 for a malformed multipart body or a file name with a control character,
    422 when there is no ``file`` field, 503 when the spool folder cannot be written.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        got = content_type or "no content type"
        raise HTTPException(415, f"expected multipart/form-data, got {got!r}: {_USAGE}")
    body_limit = max_bytes + MULTIPART_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise _too_large(max_bytes, f"the request declares {int(declared)} bytes")
    parser = MultiPartParser(
        request.headers,
        _bounded(request.stream(), body_limit),
        max_files=1,
        max_fields=16,
        max_part_size=64 * 1024,  # plain (non-file) fields: nothing here needs more
    )
    try:
        form = await parser.parse()
    except _BodyTooLarge:
        raise _too_large(max_bytes, f"the request body went past {body_limit} bytes") from None
    except MultiPartException as error:
        raise HTTPException(400, f"malformed multipart body: {error.message}; {_USAGE}") from None
    except ClientDisconnect:
        raise HTTPException(400, "the client disconnected before the upload was complete") from None
    try:
        return await _spool_file_of(form, max_bytes, spool, job_id)
    finally:
        await form.close()


async def _spool_file_of(
    form: FormData, max_bytes: int, spool: UploadSpool, job_id: str
) -> CsvUpload:
    upload = form.get(FILE_FIELD)
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, f"no file in the field {FILE_FIELD!r}: {_USAGE}")
    filename = check_filename(upload.filename or "upload.csv")[:MAX_FILENAME_LENGTH]
    if upload.size is not None and upload.size > max_bytes:
        raise _too_large(max_bytes, f"the file has more than {max_bytes} bytes")
    await upload.seek(0)
    try:
        spooled = await run_in_threadpool(spool.write, job_id, upload.file, max_bytes)
    except UploadTooLarge:
        raise _too_large(max_bytes, f"the file has more than {max_bytes} bytes") from None
    except OSError as error:
        raise HTTPException(
            503,
            f"the upload could not be stored: {describe_os_error(error, spool.folder)}",
            headers={"Retry-After": "5"},
        ) from None
    return CsvUpload(filename=filename, spooled=spooled)


def check_filename(filename: str) -> str:
    """``filename`` if it holds no control character, else a 400 naming the character."""
    bad = _CONTROL_CHARACTER.search(filename)
    if bad is None:
        return filename
    raise HTTPException(
        400,
        f"the file name {filename!r} contains the control character {bad.group()!r} "
        f"(position {bad.start() + 1}), which no store can keep; rename the file and upload it "
        "again",
    )


async def _bounded(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """Pass the body through, raising :class:`_BodyTooLarge` once more than ``limit`` arrived."""
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise _BodyTooLarge
        yield chunk


def _too_large(max_bytes: int, what: str) -> HTTPException:
    return HTTPException(
        413,
        f"upload too large: {what}; the limit is {max_bytes} bytes ({max_bytes / 1048576:.2f} MiB) "
        "per CSV file: split the CSV, or raise DURABLE_JOBS_MAX_UPLOAD_BYTES on the server",
    )
