"""Latency measured against floors taken in the same run, on the same filesystem.

Absolute times on a shared machine move from run to run, so the store is never timed alone. One
process measures, in interleaved rounds so that a burst of noise hits every figure alike:

==============  ======================================================================
floor_write     the least any durable atomic write costs: unique temp file, write, fsync,
                rename, fsync of the directory
floor_read      the least any read costs: open, read, ``json.loads``
naive_save      the seed's pre-fix design (``json.dump`` into the file, no fsync)
naive_get       its read (``json.load``)
save, get       the store under test
get_recovering  the store's ``get_job`` right after its job file was damaged (truncated)
==============  ======================================================================

Each is recorded as an operation with the time inside the call (``elapsed``), so the
``performance_budget`` checker can judge the seed's budget from the history alone.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.client import recorded
from harness.history import FAIL, HistoryLog
from harness.payload import make_job

RECOVERING_SAMPLES = 10


def measure_latencies(store: Any, config: Any, log: HistoryLog, rng: random.Random) -> None:
    """Run the interleaved measurement rounds for a ``latency`` scenario."""
    from durable_jobs.legacy import NaiveJobStore

    root = Path(config.root)
    floor_dir = root.parent / "floor"
    naive_dir = root.parent / "naive"
    floor_dir.mkdir(exist_ok=True)
    naive = NaiveJobStore(naive_dir)
    samples = int(config.extra.get("samples", 200))
    size = config.payload_bytes
    job = make_job("t0", "timer", 0, size, rng)
    body = json.dumps(job).encode()
    floor_file = os.fspath(floor_dir / "t0.json")
    floor_durable_replace(floor_dir, floor_file, body)  # so the first floor read has a file
    store.save_job("t0", job)
    naive.save_job("t0", job)
    measurements: list[tuple[str, Callable[[], object]]] = [
        ("floor_write", lambda: floor_durable_replace(floor_dir, floor_file, body)),
        ("save", lambda: store.save_job("t0", job)),
        ("naive_save", lambda: naive.save_job("t0", job)),
        ("floor_read", lambda: floor_plain_read(floor_file)),
        ("get", lambda: store.get_job("t0")),
        ("naive_get", lambda: naive.get_job("t0")),
    ]
    for _ in range(3):  # warm caches and code paths before anything is recorded
        for _, call in measurements:
            call()
    for round_number in range(samples):
        if time.monotonic() > config.deadline:
            break
        shift = round_number % len(measurements)  # rotate the order: no figure always goes first
        for name, call in measurements[shift:] + measurements[:shift]:
            _timed(log, name, "t0", call)
    _measure_recovering_reads(store, config, log, rng, job)


def floor_durable_replace(folder: Path, path: str, body: bytes) -> None:
    """The minimal durable atomic replace; any crash-safe file store pays at least this."""
    temp = f"{path}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def floor_plain_read(path: str) -> object:
    """The minimal read of a JSON job file."""
    with open(path, "rb") as source:
        return json.loads(source.read())


def _measure_recovering_reads(
    store: Any, config: Any, log: HistoryLog, rng: random.Random, job: dict[str, Any]
) -> None:
    paths_for = getattr(store, "paths_for", None)
    main = None
    if callable(paths_for):
        try:
            main = os.fspath(paths_for("t0")["main"])
        except Exception:
            main = None
    if main is None and os.path.exists(os.path.join(config.root, "t0.json")):
        main = os.path.join(config.root, "t0.json")
    if main is None:
        log.event(
            "get_recovering",
            "t0",
            {"skipped": "the store does not say where its job files are"},
            kind=FAIL,
        )
        return
    count = int(config.extra.get("recovering_samples", RECOVERING_SAMPLES))
    for sequence in range(1, count + 1):
        if time.monotonic() > config.deadline:
            break
        store.save_job("t0", make_job("t0", "timer", sequence, config.payload_bytes, rng))
        size = os.path.getsize(main)
        os.truncate(main, max(1, size // 2))  # a torn job file: the main copy is unusable
        _timed(log, "get_recovering", "t0", lambda: store.get_job("t0"))


def _timed(log: HistoryLog, name: str, job: str, call: Callable[[], object]) -> None:
    recorded(log, name, job, None, call, raised=FAIL)
