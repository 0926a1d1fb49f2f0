"""Where a save spends its time, step by step, so a regression points at its cause.

The stores are not instrumented (``durable_jobs`` stays untouched); instead these functions are
**copies of the stores' save paths** with a ``perf_counter`` between the steps. They must mirror
the real code exactly; if the store changes, change them too:

* :func:`hardened_save_steps` mirrors ``FileJobStore.save_job`` -> ``_locked`` ->
  ``_read_state`` -> ``_next_version`` -> ``_install`` (``_write_temp``, rename to ``.bak``,
  rename over the job file, ``_fsync_directory``) in ``durable_jobs/file_store.py``;
* :func:`phase470_save_steps` mirrors ``Phase470JobStore.save_job`` and ``_atomic_write_json``
  in ``durable_jobs/legacy.py``.

To show the copy is faithful, the breakdown rounds also time the real ``save_job`` of the same
store, interleaved: the report puts the copy's total beside the real store's median. Each step's
figure is its median over the samples, so the steps add up to about the total, not exactly.

>>> sorted(HARDENED_STEPS)[:3]
['dir_fsync_us', 'encode_us', 'fsync_us']
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import statistics
import time
import zlib
from pathlib import Path
from typing import Any

from harness.bench_latency import TimedOperation, run_rounds
from harness.bench_stores import PAYLOAD_BYTES, make_bench_job

HARDENED_STEPS = (
    "lock_us",
    "read_current_us",
    "encode_us",
    "write_us",
    "fsync_us",
    "rename_backup_us",
    "rename_us",
    "dir_fsync_us",
)
BREAKDOWN_STORES = ("hardened", "phase470")


class _Stopwatch:
    """Adds the time since the previous mark to a step (a step may be timed in several parts)."""

    def __init__(self, steps: tuple[str, ...]) -> None:
        self.times = dict.fromkeys(steps, 0.0)
        self.started = self.last = time.perf_counter()

    def mark(self, step: str) -> None:
        now = time.perf_counter()
        self.times[step] += now - self.last
        self.last = now

    def result(self) -> dict[str, float]:
        return {**self.times, "total_us": self.last - self.started}


def hardened_save_steps(root: str, job_id: str, job: dict[str, Any]) -> dict[str, float]:
    """One hardened save of ``job`` into the store at ``root``, timed step by step (seconds).

    Mirrors ``FileJobStore.save_job`` for a job whose job file is good (the benchmark's case):
    encode, lock, read the current file, next version and backup policy, ``_install`` (temp file
    + fsync; for a finished job a second temp file that becomes the backup, else the current file
    renamed to ``.bak``; rename over the job file; directory fsync), unlock. A job without a good
    job file takes branches this copy does not mirror, so it refuses it.
    """
    from durable_jobs.encoding import DamagedFileError, decode_file, encode_file, encode_job_body
    from durable_jobs.file_store import (
        BACKUP_SUFFIX,
        JOB_SUFFIX,
        LOCK_DIR,
        LOCK_STRIPES,
        TEMP_SUFFIX,
    )
    from durable_jobs.ids import validate_job_id
    from durable_jobs.lifecycle import TERMINAL_STATUSES

    watch = _Stopwatch(HARDENED_STEPS)
    name = validate_job_id(job_id)
    body = encode_job_body(job)  # the store encodes before taking the lock
    watch.mark("encode_us")
    stripe = zlib.crc32(name.encode()) % LOCK_STRIPES
    lock_path = f"{root}/{LOCK_DIR}/{stripe:02d}.lock"
    lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    watch.mark("lock_us")
    try:
        main, backup = f"{root}/{name}{JOB_SUFFIX}", f"{root}/{name}{BACKUP_SUFFIX}"
        try:
            current = decode_file(_read_file(main))
        except (OSError, DamagedFileError) as error:
            message = f"the breakdown times saves of a job with a good job file: {error}"
            raise ValueError(message) from error
        watch.mark("read_current_us")
        status = job.get("status")
        backup_as_well = isinstance(status, str) and status in TERMINAL_STATUSES
        data = encode_file(body, current.version + 1)
        watch.mark("encode_us")
        temp = _write_temp(root, name, data, watch, JOB_SUFFIX, TEMP_SUFFIX)
        if backup_as_well:
            backup_temp = _write_temp(root, name, data, watch, JOB_SUFFIX, TEMP_SUFFIX)
            os.replace(backup_temp, backup)
        else:
            os.replace(main, backup)
        watch.mark("rename_backup_us")
        os.replace(temp, main)
        watch.mark("rename_us")
        directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        os.fsync(directory)
        os.close(directory)
        watch.mark("dir_fsync_us")
    finally:
        os.close(lock_fd)  # releases the flock
    watch.mark("lock_us")
    return watch.result()


def _read_file(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, os.fstat(fd).st_size + 1)
    finally:
        os.close(fd)


def _write_temp(
    root: str, name: str, data: bytes, watch: _Stopwatch, job_suffix: str, temp_suffix: str
) -> str:
    """``FileJobStore._write_temp``: create a unique temp file, write (timed), fsync (timed)."""
    temp = f"{root}/.{name}{job_suffix}.{secrets.token_hex(6)}{temp_suffix}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        watch.mark("write_us")
        os.fsync(fd)
    finally:
        os.close(fd)
    watch.mark("fsync_us")
    return temp


def phase470_save_steps(root: str, job_id: str, job: dict[str, Any]) -> dict[str, float]:
    """One phase470 save of ``job`` into the store at ``root``, timed step by step (seconds)."""
    from durable_jobs.ids import validate_job_id

    clock = time.perf_counter
    t0 = clock()
    path = os.path.join(root, f"{validate_job_id(job_id)}.json")
    if os.path.exists(path):
        shutil.copyfile(path, path + ".bak")
    t1 = clock()
    data = json.dumps(job)
    t2 = clock()
    tmp_path = path + ".tmp"
    with open(tmp_path, "w", encoding="utf-8") as f:
        f.write(data)
        f.flush()
        t3 = clock()
        os.fsync(f.fileno())
    t4 = clock()
    os.replace(tmp_path, path)
    t5 = clock()
    return {
        "copy_backup_us": t1 - t0,
        "encode_us": t2 - t1,
        "write_us": t3 - t2,
        "fsync_us": t4 - t3,
        "rename_us": t5 - t4,
        "total_us": t5 - t0,
    }


STEP_FUNCTIONS = {"hardened": hardened_save_steps, "phase470": phase470_save_steps}


def measure_breakdown(
    store_name: str,
    store: Any,
    *,
    rounds: int,
    warmup: int = 5,
    max_seconds: float = 20.0,
) -> tuple[dict[str, float], float]:
    """Median of each step of the instrumented copy, and the real ``save_job`` median (both us).

    ``store`` is an open store of ``store_name`` (hardened or phase470); the copy and the real
    save write two different 1 KB jobs in it, in interleaved rounds.
    """
    steps_of = STEP_FUNCTIONS[store_name]
    root = os.fspath(Path(store.root).absolute())
    copy_job = make_bench_job("breakdown-copy", PAYLOAD_BYTES["1k"])
    real_job = make_bench_job("breakdown-real", PAYLOAD_BYTES["1k"])
    store.save_job("breakdown-copy", copy_job)  # a current version to read and back up
    store.save_job("breakdown-real", real_job)
    recorded: list[dict[str, float]] = []
    operations = [
        TimedOperation(
            "copy",
            "save",
            store_name,
            "1k",
            None,
            lambda: recorded.append(steps_of(root, "breakdown-copy", copy_job)),
        ),
        TimedOperation(
            "real",
            "save",
            store_name,
            "1k",
            None,
            lambda: store.save_job("breakdown-real", real_job),
        ),
    ]
    samples, errors = run_rounds(operations, rounds=rounds, warmup=warmup, max_seconds=max_seconds)
    if errors:
        raise RuntimeError(f"breakdown of {store_name}: {errors}")
    measured = recorded[-len(samples["copy"]) :]
    keys = list(measured[0])
    breakdown = {key: round(statistics.median(s[key] for s in measured) * 1e6, 1) for key in keys}
    return breakdown, round(statistics.median(samples["real"]) * 1e6, 1)
