"""Reading the uploaded CSV from a ``multipart/form-data`` request, with a hard size limit.

The client sends the file in the field ``file``::

    curl -F file=@people.csv http://127.0.0.1:8000/jobs

The limit is enforced while the body arrives, not after: a request that declares a larger
``Content-Length`` is refused before a byte is read, and a body sent without one (chunked) is
cut off as soon as it passes the limit. Without this, FastAPI's ``UploadFile`` would spool the
whole body, however large, before the endpoint could say no. The body may exceed the file by
the multipart framing (boundaries and part headers), so the request is allowed
:data:`MULTIPART_OVERHEAD_BYTES` more than the file; the file itself is then checked exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import HTTPException, Request

# Starlette's UploadFile: the parser makes these (FastAPI's class is a subclass of it).
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

FILE_FIELD = "file"
MULTIPART_OVERHEAD_BYTES = 16 * 1024
MAX_FILENAME_LENGTH = 255
_USAGE = f"send the CSV as multipart/form-data in the field {FILE_FIELD!r} (curl -F file=@data.csv)"


@dataclass(frozen=True, slots=True)
class CsvUpload:
    """An uploaded file, complete and within the limit."""

    filename: str
    data: bytes


class _BodyTooLarge(Exception):
    """Raised from inside the body stream to stop the multipart parser at the limit."""


async def read_csv_upload(request: Request, max_bytes: int) -> CsvUpload:
    """Read the file of a ``POST /jobs`` request, or raise the HTTP error that explains the refusal.

    413 when the file (or the body) is larger than ``max_bytes``, 415 when the request is not
    multipart, 400 for a malformed multipart body, 422 when there is no ``file`` field.
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
        return await _file_of(form, max_bytes)
    finally:
        await form.close()


async def _file_of(form: FormData, max_bytes: int) -> CsvUpload:
    upload = form.get(FILE_FIELD)
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, f"no file in the field {FILE_FIELD!r}: {_USAGE}")
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes, f"the file has more than {max_bytes} bytes")
    filename = (upload.filename or "upload.csv")[:MAX_FILENAME_LENGTH]
    return CsvUpload(filename=filename, data=data)


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
