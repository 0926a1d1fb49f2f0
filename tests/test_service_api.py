"""The job service as a client sees it: a real uvicorn server in a subprocess, spoken to over HTTP.

Nothing is mocked. Each server is ``python -m durable_jobs.service`` on a free port with its own
store and results directory (``tests/running_services.py``); tests damage the store's real
files, kill the real process with SIGKILL, and start another on the same store. Every wait is a poll with a deadline.

Most tests share one server (file store, a 64 KiB upload limit and a 4 ms row delay, so a
5000-row upload stays "running" for ~20 s while a 3-row upload takes ~12 ms). Tests that need
their own configuration or kill their server start their own with ``start_service``.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from running_services import (
    ServiceProcess,
    csv_bytes,
    launch_service,
    upload,
    wait_for_job,
    wait_for_status,
    wait_until_finished,
)

from durable_jobs import open_store

SHARED_UPLOAD_LIMIT = 64 * 1024
SHARED_ROW_DELAY = 0.004
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------- running servers


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One server for the tests that only need the default behaviour."""
    workdir = tmp_path_factory.mktemp("shared")
    service = launch_service(
        workdir,
        f"file://{workdir / 'jobs'}",
        options=(
            "--max-upload-bytes",
            str(SHARED_UPLOAD_LIMIT),
            "--row-delay",
            str(SHARED_ROW_DELAY),
        ),
    )
    yield service
    service.stop()


# ---------------------------------------------------------------- client helpers


def expected_output_row(row_number: int, cells: list[str]) -> list[str]:
    """What the service must produce, computed here independently of its code."""
    escaped = ["'" + cell if cell.startswith(FORMULA_PREFIXES) else cell for cell in cells]
    checksum = zlib.crc32("\x1f".join(cells).encode("utf-8"))
    filled = sum(1 for cell in cells if cell != "")
    return [*escaped, str(row_number), str(filled), f"{checksum:08x}"]


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


# ---------------------------------------------------------------- the main flow

PEOPLE = [
    ["name", "formula", "note"],
    ["ada", "=1+1", "plain text"],
    ["bob", "+33 1 23", ""],
    ["eve", "-5", "@SUM(A1:A9)"],
    ["tab", "\tindented", "\rcarriage"],
    ["ünï", 'a=b, "quoted"', "multi\nline"],
]


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_upload_is_enriched_and_downloadable_when_done(
    backend: str, tmp_path: Path, start_service: Callable[..., ServiceProcess]
) -> None:
    url = f"file://{tmp_path / 'jobs'}" if backend == "file" else f"sqlite://{tmp_path / 'jobs.db'}"
    service = start_service(url)
    job_id = upload(service, csv_bytes(PEOPLE))

    job = wait_until_finished(service, job_id)

    assert job["status"] == "done", job
    assert job["rows"] == job["rows_done"] == len(PEOPLE) - 1
    assert job["progress"] == 1.0
    assert job["filename"] == "people.csv"
    assert job["result"] == f"{job_id}.csv"
    assert "owner" not in job  # internal: which process runs the job
    download = service.client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == 'attachment; filename="people-enriched.csv"'
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8"), newline="")))
    assert rows[0] == ["name", "formula", "note", "row", "filled", "crc32"]
    assert rows[1:] == [expected_output_row(n, cells) for n, cells in enumerate(PEOPLE[1:], 1)]
    assert rows[1][1] == "'=1+1" and rows[3][2] == "'@SUM(A1:A9)"  # formulas are inert


def test_health_names_the_store(shared: ServiceProcess) -> None:
    response = shared.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"ok": True, "store": f"FileJobStore({str(shared.store_dir)!r})"}


def test_job_list_contains_an_uploaded_job(shared: ServiceProcess) -> None:
    job_id = upload(shared, csv_bytes([["a"], ["1"]]))

    assert job_id in shared.client.get("/jobs").json()["jobs"]


# ---------------------------------------------------------------- ids


def test_a_job_that_never_existed_is_404(shared: ServiceProcess) -> None:
    for path in ("/jobs/0123456789abcdef", "/jobs/0123456789abcdef/download"):
        response = shared.client.get(path)
        assert response.status_code == 404, path
        assert "no job" in response.json()["detail"]


INVALID_IDS = [
    "..%2Fcanary",
    "..%2F..%2Fcanary",
    "%2E%2E",
    "canary.json",
    "canary%00",
    "..%5Ccanary",
    "c" * 129,
    "canary%20x",
]


@pytest.mark.parametrize("raw_id", INVALID_IDS)
def test_invalid_ids_are_404_and_touch_nothing(shared: ServiceProcess, raw_id: str) -> None:
    outside_before = {p for p in tree(shared.workdir) if not p.startswith(("jobs", "results"))}

    for suffix in ("", "/download"):
        response = shared.client.get(f"/jobs/{raw_id}{suffix}")
        assert response.status_code == 404, (raw_id, suffix, response.text)

    outside_after = {p for p in tree(shared.workdir) if not p.startswith(("jobs", "results"))}
    assert outside_after == outside_before
    # Inside the store and results directories, jobs of other tests may still be writing,
    # so the check there is by name: no file was made for the id, wherever it tried to point.
    assert not [p for p in tree(shared.workdir.parent) if "canary" in p]


# ---------------------------------------------------------------- damaged job files

DAMAGE = {
    "garbage": lambda data: b"\x00\xffnot json at all\x13",
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_job_file_is_served_from_backup_never_500(
    shared: ServiceProcess, damage: str
) -> None:
    job_id = upload(shared, csv_bytes(PEOPLE))
    assert wait_until_finished(shared, job_id)["status"] == "done"
    main = shared.store_dir / f"{job_id}.json"
    backup = shared.store_dir / f"{job_id}.json.bak"
    main.write_bytes(DAMAGE[damage](main.read_bytes()))

    recovered = shared.client.get(f"/jobs/{job_id}")

    assert recovered.status_code == 200, recovered.text
    job = recovered.json()
    assert "_recovered" in job, job
    assert job["status"] == "done"  # the backup of a finished job is finished too
    assert shared.client.get(f"/jobs/{job_id}/download").status_code == 200

    main.write_bytes(DAMAGE[damage](main.read_bytes()))
    backup.write_bytes(DAMAGE[damage](backup.read_bytes()))
    unreadable = shared.client.get(f"/jobs/{job_id}")

    assert unreadable.status_code == 200, unreadable.text
    assert unreadable.json()["status"] == "unknown"
    assert unreadable.json()["error"]
    download = shared.client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 409
    assert download.json()["status"] == "unknown"


# ---------------------------------------------------------------- uploads and bad CSV


def test_upload_over_the_limit_is_413_and_creates_no_job(shared: ServiceProcess) -> None:
    jobs_before = shared.client.get("/jobs").json()["jobs"]
    payload = b"a,b\r\n" + b"1,2\r\n" * (SHARED_UPLOAD_LIMIT // 5 + 1)

    declared = shared.client.post("/jobs", files={"file": ("big.csv", payload, "text/csv")})

    assert declared.status_code == 413, declared.text
    assert "upload too large" in declared.json()["detail"]
    assert str(SHARED_UPLOAD_LIMIT) in declared.json()["detail"]
    assert shared.client.get("/jobs").json()["jobs"] == jobs_before


def test_upload_without_length_is_cut_off_at_the_limit(shared: ServiceProcess) -> None:
    jobs_before = shared.client.get("/jobs").json()["jobs"]
    boundary = "durable-jobs-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + b"a,b\r\n"
        + b"1,2\r\n" * (2 * SHARED_UPLOAD_LIMIT // 5)
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:  # no length known in advance: sent chunked
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = shared.client.post(
        "/jobs",
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status_code == 413, response.text
    assert shared.client.get("/jobs").json()["jobs"] == jobs_before


def test_upload_without_a_file_field_says_how_to_send_one(shared: ServiceProcess) -> None:
    response = shared.client.post("/jobs", data={"other": "x"})

    assert response.status_code in (415, 422)
    assert "multipart/form-data" in response.json()["detail"]


BAD_CSV = {
    "field count": (b"a,b\n1,2\n3\n", "line 3: expected 2 fields, got 1"),
    "broken quote": (b'a,b\n1,"x"y\n', "line 2:"),
    "unclosed quote": (b'a,b\n1,2\n3,"open\n4,5\n', "line 4: unexpected end of data"),
    "bad utf-8": (b"a,b\n1,2\n\xff\xfe,3\n", "line 3: not valid UTF-8"),
    "empty": (b"", "empty CSV"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_csv_ends_the_job_in_error_with_the_line(shared: ServiceProcess, case: str) -> None:
    data, expected = BAD_CSV[case]
    job_id = upload(shared, data, filename="bad.csv")

    job = wait_until_finished(shared, job_id)

    assert job["status"] == "error"
    assert expected in job["error"]
    download = shared.client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 409
    assert download.json()["status"] == "error"
    assert expected in download.json()["detail"]
    assert not (shared.results_dir / f"{job_id}.csv").exists()


# ---------------------------------------------------------------- downloads


def test_download_before_done_is_409_and_progress_is_reported(shared: ServiceProcess) -> None:
    rows = [["key", "value"]] + [[f"k{n}", str(n)] for n in range(5000)]  # ~20 s at 4 ms a row
    job_id = upload(shared, csv_bytes(rows))

    early = shared.client.get(f"/jobs/{job_id}/download")

    assert early.status_code == 409, early.text
    assert early.json()["status"] in ("queued", "running")
    running = wait_for_job(shared, job_id, lambda job: job.get("rows_done", 0) > 0)
    assert running["status"] == "running"
    assert 0 < running["progress"] < 1
    assert "owner" not in running
    later = shared.client.get(f"/jobs/{job_id}/download")
    assert later.status_code == 409
    assert later.json()["status"] == "running"


def test_done_job_whose_result_vanished_is_410(shared: ServiceProcess) -> None:
    job_id = upload(shared, csv_bytes(PEOPLE))
    assert wait_until_finished(shared, job_id)["status"] == "done"
    (shared.results_dir / f"{job_id}.csv").unlink()

    response = shared.client.get(f"/jobs/{job_id}/download")

    assert response.status_code == 410, response.text
    assert "gone" in response.json()["detail"]


# ---------------------------------------------------------------- crashes and restarts


def test_job_of_a_killed_server_is_failed_by_the_next_start(
    tmp_path: Path, start_service: Callable[..., ServiceProcess]
) -> None:
    slow = ("--row-delay", "1.0")
    server_a = start_service(options=slow)
    job_id = upload(server_a, csv_bytes([["n"]] + [[str(n)] for n in range(60)]))
    wait_for_status(server_a, job_id, "running")

    # A second live process on the same store must not fail a job the first one is running.
    server_b = start_service(options=slow)
    assert server_b.client.get(f"/jobs/{job_id}").json()["status"] == "running"
    server_b.stop()

    server_a.kill()
    server_c = start_service(options=slow)
    job = server_c.client.get(f"/jobs/{job_id}").json()

    assert job["status"] == "error", job
    assert "abandoned" in job["error"]
    assert server_c.client.get(f"/jobs/{job_id}/download").status_code == 409


def test_graceful_shutdown_leaves_no_job_running(
    tmp_path: Path, start_service: Callable[..., ServiceProcess]
) -> None:
    service = start_service(options=("--row-delay", "1.0"))
    job_id = upload(service, csv_bytes([["n"]] + [[str(n)] for n in range(60)]))
    wait_for_status(service, job_id, "running")

    service.stop()

    # uvicorn re-raises the signal once its graceful shutdown is complete.
    assert service.process.returncode in (0, -signal.SIGTERM), service.log()
    job = open_store(service.store_url).get_job(job_id)
    assert job is not None
    assert job["status"] == "error"
    assert "interrupted" in job["error"]


# ---------------------------------------------------------------- how it is started


def test_import_and_app_creation_touch_no_disk(tmp_path: Path) -> None:
    code = "import durable_jobs.service as service; print(type(service.app).__name__)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURABLE_JOBS_")}

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )

    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "FastAPI"
    assert list(tmp_path.iterdir()) == []


def test_uvicorn_serves_the_module_app_configured_from_the_environment(
    tmp_path: Path, start_service: Callable[..., ServiceProcess]
) -> None:
    store_url = f"sqlite://{tmp_path / 'env.db'}"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "durable_jobs.service:app",
        "--port",
        "{port}",
        "--log-level",
        "warning",
    ]
    env = {"DURABLE_JOBS_URL": store_url, "DURABLE_JOBS_RESULTS": str(tmp_path / "out")}
    service = start_service(store_url, command=command, env=env)

    job_id = upload(service, csv_bytes(PEOPLE))

    assert wait_until_finished(service, job_id)["status"] == "done"
    assert service.client.get("/healthz").json()["store"].startswith("SqliteJobStore(")
    assert (tmp_path / "out" / f"{job_id}.csv").exists()


def test_bad_configuration_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "durable_jobs.service", "--store", "nosuch:///x"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1
    assert "unknown store URL scheme" in result.stderr.decode()
