"""The job service through storage outages that end: real servers, a real tmpfs (needs root).

* the disk filled under load, then freed: every job ends, the failed ones naming ENOSPC;
* the store's folder read-only under load (a read-only bind mount stacked on it, since the
  store's open lock files keep the tmpfs itself from being remounted), then writable again:
  every job ends ``done``;
* an outage longer than the workers' retry bound: the job ends ``error`` with the real cause
  and the bound, not "abandoned".

Each asserts: no job left non-terminal a bounded time after the outage ends, no answer 5xx but
a 503 that says "storage unavailable" with ``Retry-After``, and errors that name the cause.
PostgreSQL's outages are in ``test_service_postgres.py``.
"""

from __future__ import annotations

import errno
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pollers import Pollers
from running_services import (
    ServiceProcess,
    csv_bytes,
    upload,
    wait_for_status,
    wait_until_finished,
)
from tmpfs import mounted_tmpfs

SETTLE_SECONDS = 60.0
"""After the outage ends, every job must be terminal within this bound."""


def rows(count: int) -> bytes:
    return csv_bytes([["n"]] + [[str(n)] for n in range(count)])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB tmpfs; every mount made under it is undone afterwards."""
    try:
        yield from mounted_tmpfs(tmp_path / "disk", "16m")
    finally:
        for view in sorted(tmp_path.glob("view-*")):  # the bind mounts stacked by a test
            subprocess.run(["umount", "-R", "-l", str(view)], check=False, capture_output=True)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk is full (ENOSPC); return it."""
    filler = disk / "filler"
    chunk = b"\0" * (256 * 1024)
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    with open(filler, "ab", buffering=0) as out:  # the last pages, smaller than a chunk
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    return filler


def start_on(
    start_service: Callable[..., ServiceProcess],
    store_dir: Path,
    results_dir: Path,
    *options: str,
) -> ServiceProcess:
    """A server with its store and results where the test says (so the fault reaches them)."""
    command = [
        sys.executable,
        "-m",
        "durable_jobs.service",
        "--port",
        "{port}",
        "--store",
        f"file://{store_dir}",
        "--results",
        str(results_dir),
        "--log-level",
        "warning",
        *options,
    ]
    return start_service(f"file://{store_dir}", command=command)


def wait_until_all_final(service: ServiceProcess, job_ids: list[str]) -> list[dict[str, Any]]:
    """Every job once final (``finished_at``), within :data:`SETTLE_SECONDS`; 503 tolerated."""
    deadline = time.monotonic() + SETTLE_SECONDS
    final: dict[str, dict[str, Any]] = {}
    last: dict[str, object] = {}
    while len(final) < len(job_ids):
        assert time.monotonic() < deadline, f"not final after {SETTLE_SECONDS} s: {last}"
        for job_id in job_ids:
            if job_id in final:
                continue
            response = service.client.get(f"/jobs/{job_id}")
            assert response.status_code in (200, 503), response.text
            job = response.json()
            if response.status_code == 200 and "finished_at" in job:
                final[job_id] = job
                last.pop(job_id, None)
            else:
                last[job_id] = job.get("status", response.status_code)
        time.sleep(0.1)
    return [final[job_id] for job_id in job_ids]


def wait_for_log(service: ServiceProcess, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in service.log():
        assert time.monotonic() < deadline, f"the server never logged {text!r}:\n{service.log()}"
        time.sleep(0.05)


def hold_fault(seconds: float) -> None:
    """Keep a fault on for ``seconds``: its length is the fault's, not a guess at a duration."""
    threading.Event().wait(seconds)


def summary(jobs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(job["status"]) for job in jobs)


# How long each outage lasts: a few seconds in every run; the 60 s (twice a lease, half
# the retry bound) as a soak test, `pytest --soak tests/test_service_outages.py -s`.
OUTAGE_SECONDS = [
    pytest.param(3.0, id="3s"),
    pytest.param(60.0, id="60s", marks=pytest.mark.slow),
]


# ---------------------------------------------------------------- a full disk


@pytest.mark.parametrize("outage", OUTAGE_SECONDS)
def test_a_disk_filled_then_freed_under_load_leaves_no_job_unfinished(
    outage: float, small_disk: Path, start_service: Callable[..., ServiceProcess]
) -> None:
    service = start_on(
        start_service, small_disk / "jobs", small_disk / "results", "--row-delay", "0.01"
    )
    job_ids = [upload(service, rows(150)) for _ in range(10)]  # ~1.5 s each, 4 at a time
    wait_for_status(service, job_ids[0], "running")
    with Pollers(str(service.client.base_url), job_ids, 8) as pollers:
        filler = fill(small_disk)
        refused = service.client.post("/jobs", files={"file": ("a.csv", rows(2), "text/csv")})
        wait_for_log(service, "(ENOSPC)")
        hold_fault(outage)  # the outage: jobs finish rows and try to record them meanwhile
        filler.unlink()
        freed = time.monotonic()
        jobs = wait_until_all_final(service, job_ids)
        settled = time.monotonic() - freed

    print(
        f"\ndisk full {outage:g} s: every job terminal {settled:.1f} s after the space was freed; "
        f"jobs {dict(summary(jobs))}; answers {dict(pollers.answers)}; POST meanwhile "
        f"{refused.status_code}"
    )
    assert refused.status_code == 503, refused.text
    assert "No space left on device" in refused.json()["detail"]
    failed = [job for job in jobs if job["status"] == "error"]
    assert all("ENOSPC" in job["error"] or "No space" in job["error"] for job in failed), failed
    assert summary(jobs)["done"] + len(failed) == len(job_ids)
    assert pollers.problems == []
    assert set(pollers.answers) <= {"200", "503"}, pollers.answers
    after = upload(service, rows(3))  # the same server takes jobs again
    assert wait_until_finished(service, after)["status"] == "done"


# ---------------------------------------------------------------- a read-only store


def bind(source: Path, target: Path, *, read_only: bool) -> None:
    subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
    if read_only:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)


@pytest.mark.parametrize("outage", OUTAGE_SECONDS)
def test_a_store_read_only_then_writable_under_load_ends_every_job_done(
    outage: float, small_disk: Path, tmp_path: Path, start_service: Callable[..., ServiceProcess]
) -> None:
    """The store's folder is a bind mount; a read-only bind stacked on it is the outage.

    Remounting the tmpfs itself read-only fails (EBUSY) while the store holds its lock files
    open for writing; a new read-only mount over the same folder makes every new open, create
    and rename there fail with EROFS, which is what the workers see of a read-only disk.
    """
    (small_disk / "jobs").mkdir()
    view = tmp_path / "view-jobs"
    view.mkdir()
    bind(small_disk / "jobs", view, read_only=False)
    service = start_on(start_service, view, tmp_path / "results", "--row-delay", "0.01")
    job_ids = [upload(service, rows(150)) for _ in range(10)]
    wait_for_status(service, job_ids[0], "running")
    with Pollers(str(service.client.base_url), job_ids, 8) as pollers:
        bind(small_disk / "jobs", view, read_only=True)
        refused = service.client.post("/jobs", files={"file": ("a.csv", rows(2), "text/csv")})
        wait_for_log(service, "(EROFS)")
        hold_fault(outage)
        subprocess.run(["umount", "-l", str(view)], check=True)  # the read-only layer only
        writable = time.monotonic()
        jobs = wait_until_all_final(service, job_ids)
        settled = time.monotonic() - writable

    print(
        f"\nstore read-only {outage:g} s: every job terminal {settled:.1f} s after it was writable; "
        f"jobs {dict(summary(jobs))}; answers {dict(pollers.answers)}; POST meanwhile "
        f"{refused.status_code}"
    )
    assert refused.status_code == 503 and "EROFS" in refused.json()["detail"], refused.text
    assert summary(jobs) == {"done": len(job_ids)}, jobs
    assert pollers.problems == []
    assert set(pollers.answers) <= {"200", "503"}, pollers.answers


# ---------------------------------------------------------------- past the retry bound


def test_an_outage_past_the_retry_bound_fails_the_job_with_the_real_cause(
    small_disk: Path, tmp_path: Path, start_service: Callable[..., ServiceProcess]
) -> None:
    """Results elsewhere: the job's result is written, only its record cannot be."""
    service = start_on(
        start_service,
        small_disk / "jobs",
        tmp_path / "results",
        "--row-delay",
        "0.01",
        "--worker-threads",
        "1",
        "--store-retry-seconds",
        "2",
    )
    job_id = upload(service, rows(100))
    wait_for_status(service, job_id, "running")
    filler = fill(small_disk)
    wait_for_log(service, "could not record the result")  # the bound passed
    filler.unlink()

    job = wait_until_all_final(service, [job_id])[0]

    assert job["status"] == "error", job
    # The bound is 2 s; the last attempt itself may take a moment on a busy machine.
    cause = r"could not record the result: no space left on device \(ENOSPC\) for [23] s;"
    assert re.match(cause, job["error"]), job
    assert "abandoned" not in job["error"]
