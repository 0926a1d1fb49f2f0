"""Real job servers for tests: ``python -m durable_jobs.service`` (or uvicorn) in a subprocess.

Nothing is mocked. :func:`launch_service` starts a server on a free port of 127.0.0.1 with its
own store and results folder and waits until ``/healthz`` answers; the helpers below speak to it
as a client would. Every wait is a poll with a deadline.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

STARTUP_TIMEOUT = 30.0
JOB_TIMEOUT = 30.0


@dataclass
class ServiceProcess:
    """A job service running in a subprocess, with a client bound to it."""

    process: subprocess.Popen[bytes]
    client: httpx.Client
    workdir: Path
    store_url: str
    log_path: Path

    @property
    def store_dir(self) -> Path:
        return self.workdir / "jobs"

    @property
    def results_dir(self) -> Path:
        return self.workdir / "results"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to record anything."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.client.close()

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.client.close()


def launch_service(
    workdir: Path,
    store_url: str,
    *,
    options: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> ServiceProcess:
    """Start ``python -m durable_jobs.service`` on a free port and wait until /healthz answers.

    ``command`` replaces the default command (``{port}`` in it is filled in). A port taken
    between choosing it and binding it is retried on another port.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    last_log = ""
    for attempt in range(3):
        port = free_port()
        argv = [
            arg.format(port=port)
            for arg in command
            or [
                sys.executable,
                "-m",
                "durable_jobs.service",
                "--port",
                "{port}",
                "--store",
                store_url,
                "--results",
                str(workdir / "results"),
                "--log-level",
                "warning",
                *options,
            ]
        ]
        log_path = workdir / f"server-{port}-{attempt}.log"
        process_env = {k: v for k, v in os.environ.items() if not k.startswith("DURABLE_JOBS_")}
        process_env.update(env or {}, PYTHONUNBUFFERED="1")
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(
                argv, cwd=workdir, env=process_env, stdout=log_file, stderr=subprocess.STDOUT
            )
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0)
        service = ServiceProcess(process, client, workdir, store_url, log_path)
        if wait_until_healthy(service):
            return service
        service.kill()
        last_log = service.log()
        if "address already in use" not in last_log.lower():
            break
    pytest.fail(f"the service did not start; its output:\n{last_log}")


def wait_until_healthy(service: ServiceProcess) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            return False
        try:
            if service.client.get("/healthz").status_code == 200:
                return True
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.05)
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def upload(service: ServiceProcess, data: bytes, filename: str = "people.csv") -> str:
    response = service.client.post("/jobs", files={"file": (filename, data, "text/csv")})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["location"] == f"/jobs/{body['id']}"
    return str(body["id"])


def wait_for_job(
    service: ServiceProcess,
    job_id: str,
    until: Callable[[dict[str, Any]], bool],
    timeout: float = JOB_TIMEOUT,
) -> dict[str, Any]:
    """Poll GET /jobs/{id} until ``until(job)``; fail with the last state after ``timeout``."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = service.client.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if until(job):
            return job
        time.sleep(0.02)
    pytest.fail(f"job {job_id} never reached the expected state; last seen: {job}")


def wait_for_status(service: ServiceProcess, job_id: str, *statuses: str) -> dict[str, Any]:
    return wait_for_job(service, job_id, lambda job: job.get("status") in statuses)


def wait_until_finished(service: ServiceProcess, job_id: str) -> dict[str, Any]:
    """The job once it is final: ``finished_at`` is its last write (done or error before it)."""
    job = wait_for_job(service, job_id, lambda job: "finished_at" in job)
    assert job["status"] in ("done", "error"), job
    return job


def raw_multipart(filename: bytes, data: bytes) -> tuple[bytes, str]:
    """A multipart body with the file name's bytes as they are (httpx would %-escape them)."""
    boundary = "durable-jobs-test-boundary"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: text/csv\r\n\r\n'
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"
