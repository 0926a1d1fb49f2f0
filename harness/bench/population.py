"""Stores full of jobs, made fast: for the cold ``recover()`` figure and the directory-size curve.

Saving 100,000 jobs one durable save at a time would take minutes, so these helpers write what
the store itself would have left on disk, in bulk, without an fsync per job, and make it all
durable once (``os.sync``) so that write-back does not land in the timings that follow:

* hardened: ``<id>.json`` in the store's own format (:func:`durable_jobs.encoding.encode_file`,
  the function ``save_job`` uses), plus ``<id>.json.bak`` one version older when asked;
* phase470 / naive: ``<id>.json`` as ``json.dumps`` writes it (plus a ``.bak`` copy for phase470);
* sqlite: rows inserted in one transaction into the store's own table (its schema, its body
  encoding); postgres: rows copied into the store's table with ``COPY``.

A *cold* recover then runs in a fresh store object after the files' pages were dropped from the
page cache (``posix_fadvise(DONTNEED)``, file by file: only this store's files, the rest of the
machine keeps its cache). PostgreSQL keeps its own buffers warm; that is said in the report.

>>> jobs_for_recover(200)[0]["status"], sum(j["status"] == "running" for j in jobs_for_recover(200))
('done', 2)
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.bench.stores import dispose_store, make_bench_job, open_bench_store

ABANDONED_EVERY = 100  # 1% of the jobs were left "running" by a dead worker


def jobs_for_recover(count: int, size: int = 1024) -> list[dict[str, Any]]:
    """``count`` finished jobs, 1% of them left ``running`` with no owner (recover fails those)."""
    jobs = []
    for index in range(count):
        status = "running" if index % ABANDONED_EVERY == ABANDONED_EVERY - 1 else "done"
        jobs.append(make_bench_job(f"r{index:06d}", size, status=status))
    return jobs


def filler_jobs(start: int, stop: int) -> Iterable[dict[str, Any]]:
    """Small finished jobs that only make the directory (or table) bigger."""
    for index in range(start, stop):
        yield {"id": f"f{index:06d}", "status": "done", "progress": 1}


def populate(name: str, store: Any, jobs: Iterable[dict[str, Any]], *, with_backup: bool) -> int:
    """Write ``jobs`` into ``store`` the way it would have stored them; return how many."""
    if name == "hardened":
        count = _populate_hardened(store, jobs, with_backup)
    elif name in ("naive", "phase470"):
        count = _populate_plain(store, jobs, with_backup and name == "phase470")
    elif name == "sqlite":
        count = _populate_sqlite(store, jobs)
    elif name == "postgres":
        count = _populate_postgres(store, jobs)
    else:
        raise ValueError(f"no bulk population for store {name!r}")
    os.sync()  # write-back of the bulk writes must not land in the timings that follow
    return count


def evict_from_page_cache(root: Path) -> int:
    """Drop the cached pages of every file under ``root``; return how many files were advised."""
    count = 0
    for folder, _, names in os.walk(root):
        for file_name in names:
            try:
                fd = os.open(os.path.join(folder, file_name), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                count += 1
            finally:
                os.close(fd)
    return count


def time_cold_recover(name: str, root: Path, jobs: int) -> tuple[dict[str, Any], int | None]:
    """Time ``recover()`` of a fresh store object over ``root`` after evicting its pages.

    Returns the bench.json record and how many abandoned jobs the recover said it failed (the
    caller checks it against the 1% it planted, so a recover that did nothing is noticed).
    """
    make_cold(name, root)
    handle = open_bench_store(name, root)
    try:
        started = time.perf_counter()
        report = handle.recover()
        seconds = time.perf_counter() - started
    finally:
        if name != "postgres":
            dispose_store(handle)
        else:
            handle.close()  # the caller still owns the table and drops it
    record = {
        "jobs": jobs,
        "seconds": round(seconds, 4),
        "per_job_us": round(seconds / max(jobs, 1) * 1e6, 1),
    }
    return record, _abandoned_failed(report)


def make_cold(name: str, root: Path) -> None:
    """Checkpoint SQLite's WAL into its database, then evict every file under ``root``."""
    if name == "sqlite":
        _checkpoint_sqlite(root / "jobs.db")
    evict_from_page_cache(root)


def _abandoned_failed(report: Any) -> int | None:
    if isinstance(report, dict):
        value = report.get("abandoned_jobs_failed")
    else:
        value = getattr(report, "abandoned_jobs_failed", None)
    return len(value) if isinstance(value, list) else None


def _populate_hardened(store: Any, jobs: Iterable[dict[str, Any]], with_backup: bool) -> int:
    from durable_jobs.encoding import encode_file, encode_job_body

    root = os.fspath(store.root.absolute())
    count = 0
    for job in jobs:
        body = encode_job_body(job)
        if with_backup:
            _write(f"{root}/{job['id']}.json.bak", encode_file(body, 1))
        _write(f"{root}/{job['id']}.json", encode_file(body, 2 if with_backup else 1))
        count += 1
    return count


def _populate_plain(store: Any, jobs: Iterable[dict[str, Any]], with_backup: bool) -> int:
    root = os.fspath(store.root)
    count = 0
    for job in jobs:
        data = json.dumps(job).encode()
        if with_backup:
            _write(f"{root}/{job['id']}.json.bak", data)
        _write(f"{root}/{job['id']}.json", data)
        count += 1
    return count


def _populate_sqlite(store: Any, jobs: Iterable[dict[str, Any]]) -> int:
    from durable_jobs.encoding import encode_job_body

    now = time.time()
    rows = [(job["id"], encode_job_body(job).decode("ascii"), 1, now) for job in jobs]
    connection = sqlite3.connect(store.path, timeout=30)
    try:
        with connection:
            connection.executemany(
                "INSERT OR REPLACE INTO jobs (id, body, version, updated) VALUES (?, ?, ?, ?)", rows
            )
    finally:
        connection.close()
    return len(rows)


def _populate_postgres(store: Any, jobs: Iterable[dict[str, Any]]) -> int:
    import psycopg

    from durable_jobs.encoding import encode_job_body

    now = time.time()
    count = 0
    statement = f"COPY {store.table} (id, body, version, updated) FROM STDIN"
    with (
        psycopg.connect(store.url) as connection,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for job in jobs:
            copy.write_row((job["id"], encode_job_body(job).decode("ascii"), 1, now))
            count += 1
    return count


def _checkpoint_sqlite(path: Path) -> None:
    """Move the WAL into the database file, so the cold read starts from the main file."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _write(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
