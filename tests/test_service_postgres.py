"""The job service on a real PostgreSQL while the database misbehaves: real servers, real faults.

* the store's server backends terminated (``pg_terminate_backend``) while jobs run and clients
  poll: no job fails, no read fails;
* ``uvicorn --workers 3`` on a new table (three processes create its schema at once) with 150
  pollers: the server connections stay within ``3 x pool_max`` and every read is a real job;
* PostgreSQL restarted while jobs run: every job still ends ``done``, and a read during the
  outage is 503 with ``Retry-After`` (or the job), never another 5xx.

Each server's URL carries an ``application_name`` of its own, by which the test finds its
backends in ``pg_stat_activity``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from running_services import (
    ServiceProcess,
    csv_bytes,
    raw_multipart,
    upload,
    wait_until_finished,
)

pytestmark = pytest.mark.postgres

POOL_MAX = 3


def service_url(postgres_url: str, application: str, **options: object) -> str:
    query = {"table": f"t_{secrets.token_hex(6)}", "application_name": application, **options}
    return postgres_url + "?" + "&".join(f"{key}={value}" for key, value in query.items())


def backends_of(postgres_url: str, application: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchone()
    return int(row[0]) if row else 0


def terminate_backends(postgres_url: str, application: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application,),
        ).fetchall()
    return len(rows)


def drop_table(postgres_url: str, url: str) -> None:
    table = url.split("table=", 1)[1].split("&", 1)[0]
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {table}")


def job_csv(count: int) -> bytes:
    return csv_bytes([["n"]] + [[str(n)] for n in range(count)])


class Pollers:
    """Threads that GET jobs until told to stop, counting every answer by status code."""

    def __init__(self, base_url: str, job_ids: list[str], count: int) -> None:
        self.answers: Counter[str] = Counter()
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, args=(base_url, job_ids[n % len(job_ids)]))
            for n in range(count)
        ]

    def __enter__(self) -> Pollers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _poll(self, base_url: str, job_id: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            for _ in range(400):  # bounded, whatever happens
                if self._stop.is_set():
                    return
                try:
                    response = client.get(f"/jobs/{job_id}")
                except httpx.TransportError as error:
                    self._note(f"transport: {error}")
                else:
                    self._judge(response)
                self._stop.wait(0.05)

    def _judge(self, response: httpx.Response) -> None:
        code = response.status_code
        if code == 200 and response.json().get("status") == "unknown":
            self._note(f"200 unknown: {response.json()}")
        elif code == 503 and not response.headers.get("retry-after"):
            self._note(f"503 without Retry-After: {response.text}")
        elif code not in (200, 503):
            self._note(f"{code}: {response.text}")
        with self._lock:
            self.answers[str(code)] += 1

    def _note(self, problem: str) -> None:
        with self._lock:
            self.problems.append(problem)


@pytest.fixture
def pg_service(
    postgres_url: str, start_service: Callable[..., ServiceProcess]
) -> Iterator[Callable[..., tuple[ServiceProcess, str]]]:
    """``pg_service(**store options)`` starts a server on a fresh table; returns it and its
    application name. The table is dropped afterwards."""
    urls: list[str] = []

    def start(
        *, options: tuple[str, ...] = (), **store_options: object
    ) -> tuple[ServiceProcess, str]:
        application = f"t_svc_{secrets.token_hex(4)}"
        url = service_url(postgres_url, application, **store_options)
        urls.append(url)
        return start_service(url, options=options), application

    yield start
    for url in urls:
        drop_table(postgres_url, url)


# ---------------------------------------------------------------- dropped connections


def test_terminated_backends_fail_no_running_job_and_no_read(
    pg_service: Callable[..., tuple[ServiceProcess, str]], postgres_url: str
) -> None:
    service, application = pg_service(options=("--row-delay", "0.01"))
    job_ids = [upload(service, job_csv(150)) for _ in range(6)]  # ~1.5 s each, 4 at a time
    terminated = 0
    with Pollers(str(service.client.base_url), job_ids, 20) as pollers:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            terminated += terminate_backends(postgres_url, application)
            statuses = [service.client.get(f"/jobs/{j}").json()["status"] for j in job_ids]
            if all(status in ("done", "error") for status in statuses):
                break
            time.sleep(0.2)

    jobs = [wait_until_finished(service, job_id) for job_id in job_ids]
    print(f"\nterminated {terminated} backends; answers {dict(pollers.answers)}")
    assert terminated >= 5, "the test never cut a connection: it proved nothing"
    assert [job["status"] for job in jobs] == ["done"] * 6, jobs
    assert pollers.problems == []
    assert set(pollers.answers) == {"200"}, pollers.answers


def test_a_nul_in_a_file_name_is_400_not_503_retry_later(
    pg_service: Callable[..., tuple[ServiceProcess, str]],
) -> None:
    """jsonb cannot hold a NUL: the issue saw 503 "retry later" for this permanent problem."""
    service, _ = pg_service()
    body, content_type = raw_multipart(b"nul\x00name.csv", job_csv(2))

    response = service.client.post("/jobs", content=body, headers={"content-type": content_type})

    assert response.status_code == 400, response.text
    assert "'\\x00'" in response.json()["detail"]
    assert service.client.get("/jobs").json()["jobs"] == []


# ---------------------------------------------------------------- many processes, many pollers


def test_150_pollers_on_three_uvicorn_workers_stay_within_the_pool(
    postgres_url: str, start_service: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    application = f"t_uvi_{secrets.token_hex(4)}"
    url = service_url(postgres_url, application, pool_max=POOL_MAX)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "durable_jobs.service:app",
        "--workers",
        "3",
        "--port",
        "{port}",
        "--log-level",
        "warning",
    ]
    env = {
        "DURABLE_JOBS_URL": url,
        "DURABLE_JOBS_RESULTS": str(tmp_path / "results"),
        "DURABLE_JOBS_ROW_DELAY": "0.005",
    }
    try:
        service = start_service(url, command=command, env=env)
        job_ids = [upload(service, job_csv(200)) for _ in range(12)]
        peak = 0
        with Pollers(str(service.client.base_url), job_ids, 150) as pollers:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                peak = max(peak, backends_of(postgres_url, application))
                statuses = [service.client.get(f"/jobs/{j}").json()["status"] for j in job_ids]
                if all(status in ("done", "error") for status in statuses):
                    break
                time.sleep(0.1)
        jobs = [wait_until_finished(service, job_id) for job_id in job_ids]
    finally:
        drop_table(postgres_url, url)

    print(
        f"\npeak server connections {peak} (bound {3 * POOL_MAX}); answers {dict(pollers.answers)}"
    )
    assert [job["status"] for job in jobs] == ["done"] * 12, jobs
    assert pollers.problems == []
    assert set(pollers.answers) == {"200"}, pollers.answers
    assert sum(pollers.answers.values()) >= 150
    assert 1 <= peak <= 3 * POOL_MAX


# ---------------------------------------------------------------- a server restart


def postgres_cluster() -> tuple[str, str] | None:
    """(version, cluster) of the local server that pg_ctlcluster manages, if any."""
    if shutil.which("pg_lsclusters") is None or os.geteuid() != 0:
        return None
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "5432" and fields[3] == "online":
            return fields[0], fields[1]
    return None


@pytest.fixture
def restartable_postgres(postgres_url: str) -> Iterator[Callable[[], float]]:
    """``restart()`` restarts the local PostgreSQL and returns how long it took; the server is
    started again at the end whatever happened."""
    cluster = postgres_cluster()
    if cluster is None:
        pytest.skip("no local PostgreSQL cluster on 5432 that pg_ctlcluster can restart as root")
    version, name = cluster
    control = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name]

    def restart() -> float:
        started = time.monotonic()
        subprocess.run([*control, "restart"], check=True, capture_output=True, timeout=120)
        return time.monotonic() - started

    try:
        yield restart
    finally:
        if postgres_cluster() is None:
            subprocess.run([*control, "start"], check=False, capture_output=True, timeout=120)


def test_a_postgres_restart_during_load_fails_no_job_and_never_answers_500(
    pg_service: Callable[..., tuple[ServiceProcess, str]],
    restartable_postgres: Callable[[], float],
) -> None:
    service, _ = pg_service(options=("--row-delay", "0.02"))
    job_ids = [upload(service, job_csv(150)) for _ in range(6)]  # ~3 s each
    time.sleep(0.5)  # let the first jobs start: the restart must hit running jobs
    with Pollers(str(service.client.base_url), job_ids, 10) as pollers:
        outage = restartable_postgres()
        started = time.monotonic()
        jobs = [wait_for_end(service, job_id, timeout=90) for job_id in job_ids]
        settled = time.monotonic() - started

    print(
        f"\nrestart took {outage:.1f} s; every job terminal {settled:.1f} s after it; "
        f"answers {dict(pollers.answers)}"
    )
    assert [job["status"] for job in jobs] == ["done"] * 6, jobs
    assert pollers.problems == []


def wait_for_end(service: ServiceProcess, job_id: str, timeout: float) -> dict[str, object]:
    """Poll until the job is final, accepting 503 (the database is away) in the meantime."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        response = service.client.get(f"/jobs/{job_id}")
        assert response.status_code in (200, 503), response.text
        if response.status_code == 200:
            last = job = response.json()
            if "finished_at" in job:
                return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    pytest.fail(f"job {job_id} did not end within {timeout} s; last seen: {last}")
