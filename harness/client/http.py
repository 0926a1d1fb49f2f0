"""A client of a job service over HTTP that records every request in the history.

Each request is one operation of the process that makes it (``submitter-0``, ``poller-3``,
``final``): an *invoke* before it is sent and exactly one completion when it ends, in the words
of :mod:`harness.history.log`:

=============  ===============================================================================
``submit``     **ok**: answered with one of the profile's accepted codes and a job id (the job
               exists); **fail**: answered with another code, or the connection was refused (it
               certainly was not accepted); **info**: the connection broke or timed out after the
               request went out (the service may have accepted it: nobody can say)
``status``     **ok** for any HTTP answer (the code and what it said are the value); **fail** when
``download``   no answer came (refused, reset); **info** when none came in time (a hang)
=============  ===============================================================================

A completion's value keeps the code, the canonical status (through the profile), the error text,
the first 300 characters of a body, ``Retry-After``, and for a 200 download the size and sha256
of the bytes; ``elapsed`` is the request's own seconds. Judging is the checkers' job: nothing
here decides whether an answer was right.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import httpx

from harness.history.log import FAIL, INFO, OK, HistoryLog
from harness.history.outcomes import describe_error
from harness.service.profile import ApiProfile

BODY_CHARS = 300
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Answer:
    """What one request got back."""

    code: int
    status: str | None  # the canonical status of a status answer
    body: Any  # the parsed JSON body, or None


class RecordingClient:
    """Requests to any instance of one service, each recorded in ``log`` (one process's file)."""

    def __init__(self, profile: ApiProfile, log: HistoryLog, client: httpx.AsyncClient) -> None:
        self.profile, self.log, self.client = profile, log, client

    async def submit(self, base_url: str, instance: str, data: bytes, filename: str) -> str | None:
        """Upload one CSV; the job id when the service accepted it."""
        profile = self.profile
        value = {
            "upload": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "instance": instance,
        }
        token = self.log.invoke("submit", None, value)
        started = time.perf_counter()
        try:
            response = await self.client.post(
                profile.submit_url(base_url),
                files={profile.upload_field: (filename, data, "text/csv")},
            )
        except httpx.ConnectError as error:  # refused: it never reached the service
            self.log.complete(
                token, FAIL, {"instance": instance}, describe_error(error), elapsed=_since(started)
            )
            return None
        except httpx.HTTPError as error:  # sent, then lost: it may have been accepted
            self.log.complete(
                token, INFO, {"instance": instance}, describe_error(error), elapsed=_since(started)
            )
            return None
        elapsed = _since(started)
        body = _json(response)
        job_id = body.get(profile.id_field) if isinstance(body, dict) else None
        result = {"code": response.status_code, "instance": instance, "body": _summary(response)}
        if response.status_code in profile.accepted_codes and job_id not in (None, ""):
            result.update(id=str(job_id), status=profile.canonical(body.get(profile.status_field)))
            self.log.complete(("submit", str(job_id)), OK, result, elapsed=elapsed)
            return str(job_id)
        self.log.complete(token, FAIL, result, f"answered {response.status_code}", elapsed=elapsed)
        return None

    async def status(self, base_url: str, instance: str, job_id: str) -> Answer | None:
        """GET the job; None when no answer came."""
        return await self._get(
            "status", self.profile.status_url(base_url, job_id), instance, job_id
        )

    async def download(self, base_url: str, instance: str, job_id: str) -> Answer | None:
        """GET the job's result; None when no answer came."""
        return await self._get(
            "download", self.profile.download_url(base_url, job_id), instance, job_id
        )

    async def _get(self, f: str, url: str, instance: str, job_id: str) -> Answer | None:
        token = self.log.invoke(f, job_id, {"instance": instance})
        started = time.perf_counter()
        try:
            response = await self.client.get(url)
        except httpx.TimeoutException as error:
            error_text = f"{describe_error(error)} (no answer within {REQUEST_TIMEOUT:g} s)"
            self.log.complete(
                token, INFO, {"instance": instance}, error_text, elapsed=_since(started)
            )
            return None
        except httpx.HTTPError as error:
            self.log.complete(
                token, FAIL, {"instance": instance}, describe_error(error), elapsed=_since(started)
            )
            return None
        elapsed = _since(started)
        answer, result = self._describe(f, response, instance)
        self.log.complete(token, OK, result, elapsed=elapsed)
        return answer

    def _describe(
        self, f: str, response: httpx.Response, instance: str
    ) -> tuple[Answer, dict[str, Any]]:
        code = response.status_code
        result: dict[str, Any] = {"code": code, "instance": instance}
        if f == "download" and code == 200:
            result.update(
                bytes=len(response.content), sha256=hashlib.sha256(response.content).hexdigest()
            )
            return Answer(code, None, None), result
        body = _json(response)
        word = body.get(self.profile.status_field) if isinstance(body, dict) else None
        status = self.profile.canonical(word) if f == "status" else None
        error = body.get(self.profile.error_field) if isinstance(body, dict) else None
        result.update(
            status=status,
            raw_status=word if isinstance(word, str) else None,
            error=error if isinstance(error, str) else None,
            body=_summary(response),
            retry_after=response.headers.get("retry-after"),
        )
        return Answer(code, status, body), result


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _summary(response: httpx.Response) -> str:
    return response.text[:BODY_CHARS]


def _since(started: float) -> float:
    return time.perf_counter() - started
