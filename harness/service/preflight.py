"""Before any scenario: can the service be started, take one job, finish it and serve its result?

A service that cannot do this in a quiet room will not be judged under faults: every criterion
would be *unknown* for a reason a user fixes first (a command that exits at once, a health URL
that never answers, an API profile that does not match the service). So, as for a store, one
instance is started on a fresh data folder, one small CSV is submitted, polled until it ends
(done or error) and, when done, downloaded; the first step that fails is the reason.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path

import httpx

from harness.results import Preflight
from harness.service.instances import Fleet, ServiceStartError
from harness.service.profile import ApiProfile
from harness.service.spec import ServiceSpec

JOB_BOUND = 30.0  # seconds the one preflight job has to end
UPLOAD = b"name,city\r\nada,london\r\ngrace,arlington\r\n"


def run_service_preflight(spec: ServiceSpec) -> Preflight:
    """Start, submit, poll, download; the first step that fails and why, or ok."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jobharness-preflight-") as folder:
        data = Path(folder) / "data"
        data.mkdir()
        fleet = Fleet(spec, 1, data=data, run=secrets.token_hex(4), logs=Path(folder) / "logs")
        try:
            fleet.start_all()
        except ServiceStartError as error:
            return Preflight(False, "start", str(error), round(time.monotonic() - started, 2))
        try:
            step, reason = _one_job(spec, fleet.instances[0].base_url)
        finally:
            fleet.kill_all()
            fleet.cleanup()
    took = round(time.monotonic() - started, 2)
    return Preflight(step == "", step, reason, took)


def _one_job(spec: ServiceSpec, base_url: str) -> tuple[str, str]:
    """``("", "")`` when the job went through; else the step and the reason."""
    profile = spec.profile
    with httpx.Client(timeout=10.0) as client:
        try:
            answer = client.post(
                profile.submit_url(base_url),
                files={profile.upload_field: ("preflight.csv", UPLOAD, "text/csv")},
            )
        except httpx.HTTPError as error:
            return "submit", f"POST {profile.submit_path} failed: {type(error).__name__}: {error}"
        job_id = _job_id(answer, profile.id_field)
        if answer.status_code not in profile.accepted_codes or job_id is None:
            return "submit", (
                f"POST {profile.submit_path} answered {answer.status_code} {answer.text[:200]!r}; "
                f"expected {', '.join(map(str, profile.accepted_codes))} with the job's "
                f"{profile.id_field!r} (is the API profile right? see --profile)"
            )
        status = _poll(client, profile, base_url, job_id)
        if status not in ("done", "error"):
            return "finish", (
                f"job {job_id} did not end within {JOB_BOUND:.0f} s (last status: {status}); "
                "check the profile's [statuses] map the service's words"
            )
        if status == "done":
            answer = client.get(profile.download_url(base_url, job_id))
            if answer.status_code != 200:
                return "download", (
                    f"GET {profile.download_path} of a done job answered {answer.status_code}"
                )
    return "", ""


def _job_id(answer: httpx.Response, field: str) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    value = body.get(field) if isinstance(body, dict) else None
    return str(value) if value not in (None, "") else None


def _poll(client: httpx.Client, profile: ApiProfile, base_url: str, job_id: str) -> str:
    deadline = time.monotonic() + JOB_BOUND
    status = "no answer"
    while time.monotonic() < deadline:
        try:
            answer = client.get(profile.status_url(base_url, job_id))
            body = answer.json()
            word = body.get(profile.status_field) if isinstance(body, dict) else None
            status = profile.canonical(word) or f"{answer.status_code} {word!r}"
        except (httpx.HTTPError, ValueError) as error:
            status = f"{type(error).__name__}"
        if status in ("done", "error"):
            return status
        time.sleep(0.05)
    return status
