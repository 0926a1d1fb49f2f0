"""Two job service instances sharing one store: leases, the rescuer and fencing (issue 9).

Each instance is a real ``python -m durable_jobs.service`` in its own pid namespace
(``unshare --pid --fork --mount-proc``), and for PostgreSQL also its own host name
(``--uts``), so the pids and host names one instance writes mean nothing to the other, as on
two machines. Leases are short (2 s, renewed every 0.4 s, a rescue pass every 0.4 s) so that
the tests take seconds: a dead instance's jobs must be rescued within 2x the lease, a live or
briefly paused one's never, and a paused-past-its-lease one's writes must be refused after
it resumes. Every wait is a bounded poll.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from running_services import ServiceProcess, csv_bytes, launch_service, upload

from harness.nemesis import disk

LEASE = 2.0
LEASE_ENV = {
    "DURABLE_JOBS_LEASE_SECONDS": str(LEASE),
    "DURABLE_JOBS_HEARTBEAT_SECONDS": "0.4",
    "DURABLE_JOBS_RESCUE_SECONDS": "0.4",
    "DURABLE_JOBS_ROW_DELAY": "0.05",
    "DURABLE_JOBS_WORKER_THREADS": "3",
}
JOBS_PER_INSTANCE = 3

pytestmark = pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0,
    reason="needs root and unshare(1) for pid and UTS namespaces",
)


def long_csv(rows: int = 400) -> bytes:
    """At 0.05 s a row, a job that runs for about ``rows / 20`` seconds."""
    return csv_bytes([["n"]] + [[str(n)] for n in range(rows)])


def launch_instance(workdir: Path, store_url: str, *, host: str | None) -> ServiceProcess:
    """A service in a new pid namespace (and with its own host name when ``host`` is given).

    ``--kill-child``: SIGKILL of the unshare process kills the service with it.
    """
    namespaces = ["--pid", "--fork", "--mount-proc", "--kill-child"]
    rename = ""
    if host is not None:
        namespaces.insert(0, "--uts")
        rename = f"hostname {host} && "
    service_command = (
        f"{rename}exec {sys.executable} -m durable_jobs.service --port {{port}} "
        f"--store '{store_url}' --results '{workdir / 'results'}' --log-level warning"
    )
    return launch_service(
        workdir,
        store_url,
        env=LEASE_ENV,
        command=["unshare", *namespaces, "sh", "-c", service_command],
    )


def service_pid(instance: ServiceProcess) -> int:
    """The pid (in this namespace) of the Python server under unshare."""
    outer = instance.process.pid
    children = Path(f"/proc/{outer}/task/{outer}/children").read_text().split()
    assert len(children) == 1, f"unshare has children {children}"
    return int(children[0])


def jobs_of(instance: ServiceProcess, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    answers = {job_id: instance.client.get(f"/jobs/{job_id}") for job_id in job_ids}
    assert all(answer.status_code == 200 for answer in answers.values()), answers
    return {job_id: answer.json() for job_id, answer in answers.items()}


def wait_for_all(
    instance: ServiceProcess,
    job_ids: list[str],
    until: Callable[[dict[str, Any]], bool],
    timeout: float,
) -> float:
    """Seconds until every job satisfies ``until`` (read through ``instance``); fail after."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        jobs = jobs_of(instance, job_ids)
        if all(until(job) for job in jobs.values()):
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(
        f"not every job reached the state in {timeout} s: {jobs_of(instance, job_ids)}\n"
        f"the log of the instance read, to its end:\n{instance.log()[-3000:]}"
    )


def is_running(job: dict[str, Any]) -> bool:
    return job.get("status") == "running" and job.get("rows_done", 0) > 0


def is_rescued(job: dict[str, Any]) -> bool:
    return job.get("status") == "error" and "lease" in str(job.get("error"))


def assert_none_failed(instance: ServiceProcess, job_ids: list[str], seconds: float) -> None:
    """For ``seconds``, no job of ``job_ids`` is ever seen ``error``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        failed = {k: v for k, v in jobs_of(instance, job_ids).items() if v["status"] == "error"}
        assert not failed, f"a live instance's jobs were failed: {failed}"
        time.sleep(0.1)


def wait_for_log(instance: ServiceProcess, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in instance.log():
            return
        time.sleep(0.05)
    pytest.fail(f"{text!r} never appeared in the log:\n{instance.log()}")


@pytest.fixture
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL both instances open: a fresh PostgreSQL database, one file store or one
    SQLite file (those two on one host: separate pid namespaces, the same host name)."""
    if request.param in ("file", "sqlite"):
        # On a tmpfs: these tests time leases, not the disk. On a shared CI disk one fsync can
        # stall for seconds, longer than the 2 s lease, and the heartbeat (a fsynced write)
        # with it; a stall of both instances was once taken for a lease bug.
        mount = tmp_path / "tmpfs"
        disk.mount_tmpfs(mount, 64 * 1024)
        try:
            yield (
                f"file://{mount / 'shared-jobs'}"
                if request.param == "file"
                else (f"sqlite://{mount / 'shared-jobs.db'}")
            )
        finally:
            disk.unmount(mount)
        return
    import psycopg

    server = request.getfixturevalue("postgres_url")
    name = f"leases_{secrets.token_hex(5)}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f"CREATE DATABASE {name}")
        # The same reason as the tmpfs above: commits here do not wait for the WAL to reach disk.
        connection.execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def launch(shared_store: str, tmp_path: Path) -> Iterator[Callable[[str], ServiceProcess]]:
    """``launch(name)`` starts an instance on the shared store; all are killed afterwards."""
    started: list[ServiceProcess] = []
    on_two_hosts = shared_store.startswith("postgresql:")

    def start(name: str) -> ServiceProcess:
        host = f"host-{name}" if on_two_hosts else None  # the file store: one host
        started.append(launch_instance(tmp_path / name, shared_store, host=host))
        return started[-1]

    yield start
    for instance in started:
        if instance.process.poll() is None:
            with contextlib.suppress(OSError, AssertionError):
                os.kill(service_pid(instance), signal.SIGCONT)  # let a paused one run its exit
        instance.kill()


def first_with_running_jobs(
    launch: Callable[[str], ServiceProcess],
) -> tuple[ServiceProcess, list[str]]:
    first = launch("a")
    job_ids = [upload(first, long_csv()) for _ in range(JOBS_PER_INSTANCE)]
    wait_for_all(first, job_ids, is_running, timeout=30)
    return first, job_ids


STORES = [pytest.param(name, id=name) for name in ("postgres", "file", "sqlite")]


@pytest.mark.parametrize("shared_store", STORES, indirect=True)
def test_a_second_instance_leaves_the_first_ones_jobs_and_rescues_them_when_it_dies(
    launch: Callable[[str], ServiceProcess],
) -> None:
    first, job_ids = first_with_running_jobs(launch)
    second = launch("b")
    # B is up (its start-up recovery ran) and its rescuer passes five times per lease.
    assert_none_failed(second, job_ids, 2 * LEASE)
    first.kill()  # SIGKILL: nothing is recorded, the leases just stop being renewed
    killed = time.monotonic()
    wait_for_all(second, job_ids, is_rescued, timeout=4 * LEASE)
    rescue_seconds = time.monotonic() - killed
    print(f"rescue after SIGKILL: {rescue_seconds:.2f} s = {rescue_seconds / LEASE:.2f} x lease")
    assert rescue_seconds <= 2 * LEASE
    for job in jobs_of(second, job_ids).values():
        assert job["error"].startswith("abandoned"), job


@pytest.mark.parametrize("shared_store", STORES, indirect=True)
def test_an_instance_paused_within_its_lease_keeps_its_jobs_and_finishes_them(
    launch: Callable[[str], ServiceProcess],
) -> None:
    first, job_ids = first_with_running_jobs(launch)
    second = launch("b")
    pid = service_pid(first)
    os.kill(pid, signal.SIGSTOP)
    try:
        assert_none_failed(second, job_ids, 0.4 * LEASE)
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for_all(first, job_ids, lambda job: "finished_at" in job, timeout=60)
    assert {job["status"] for job in jobs_of(second, job_ids).values()} == {"done"}


@pytest.mark.parametrize("shared_store", STORES, indirect=True)
def test_an_instance_paused_past_its_lease_is_rescued_and_its_late_writes_are_refused(
    launch: Callable[[str], ServiceProcess],
) -> None:
    first, job_ids = first_with_running_jobs(launch)
    second = launch("b")
    pid = service_pid(first)
    os.kill(pid, signal.SIGSTOP)
    paused = time.monotonic()
    try:
        wait_for_all(second, job_ids, is_rescued, timeout=4 * LEASE)
        print(f"rescue after SIGSTOP: {(time.monotonic() - paused) / LEASE:.2f} x lease")
    finally:
        os.kill(pid, signal.SIGCONT)
    rescued = jobs_of(second, job_ids)
    # The resumed workers' next writes (progress, then the outcome) are refused: they stop.
    wait_for_log(first, "another instance took it over", timeout=10)
    after = jobs_of(second, job_ids)
    for job_id, job in after.items():
        assert job["status"] == "error" and job["error"] == rescued[job_id]["error"], job
        assert job.get("rows_done") == rescued[job_id].get("rows_done"), "a late write landed"
