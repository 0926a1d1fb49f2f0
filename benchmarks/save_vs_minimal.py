"""The hardened save against the *minimal durable replace*, interleaved: the issue 8 ratio.

Run it directly (not collected by pytest)::

    .venv/bin/python benchmarks/save_vs_minimal.py [FOLDER] [RUNS]

FOLDER (default: a temp folder under ``reports/``, the filesystem ``jobharness bench`` uses)
holds a fresh store and a floor folder per run. The minimal durable replace is the least any
crash-safe replace of one file costs: open a fixed temp name ``O_CREAT | O_EXCL`` (unlinked
first if left over), write, fsync, close, rename over the target, fsync of a directory
descriptor opened once and kept open. It writes the bytes the store would write, already
encoded; the store's figure includes encoding the job, taking its lock and keeping a backup.

Each round times one floor replace and one ``save_job`` of the same job, in alternating order;
the figure is the ratio of the two medians, per payload (1 KB, 64 KB, 1 MB) and per run.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from durable_jobs.encoding import encode_file, encode_job_body
from durable_jobs.file_store import FileJobStore
from harness.bench_stores import make_bench_job

PAYLOADS = {"1k": 1024, "64k": 65536, "1m": 1 << 20}
ROUNDS = {"1k": 400, "64k": 400, "1m": 150}
WARMUP = 10


class MinimalReplace:
    """The floor: a durable atomic replace with nothing a crash-safe store could leave out."""

    def __init__(self, folder: str, body: bytes) -> None:
        self.path = os.path.join(folder, "floor.json")
        self.temp = os.path.join(folder, ".floor.json.tmp")
        self.body = body
        self.directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)

    def __call__(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(self.temp, flags, 0o644)
        except FileExistsError:
            os.unlink(self.temp)
            fd = os.open(self.temp, flags, 0o644)
        try:
            view = memoryview(self.body)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.temp, self.path)
        os.fsync(self.directory)


def measure(base: Path, payload: str) -> tuple[float, float, float]:
    """(save p50 / floor p50, floor p50 in us, save p50 in us) for one fresh store."""
    work = tempfile.mkdtemp(prefix=f"save-vs-minimal-{payload}-", dir=base)
    os.makedirs(f"{work}/floor")
    store = FileJobStore(f"{work}/store")
    job = make_bench_job(f"bench-{payload}", PAYLOADS[payload])
    floor = MinimalReplace(f"{work}/floor", encode_file(encode_job_body(job), 1))

    def save() -> None:
        store.save_job(job["id"], job)

    operations: list[tuple[str, Callable[[], None]]] = [("floor", floor), ("save", save)]
    for _ in range(WARMUP):
        for _name, operation in operations:
            operation()
    samples: dict[str, list[int]] = {"floor": [], "save": []}
    clock = time.perf_counter_ns
    for round_number in range(ROUNDS[payload]):
        for name, operation in operations if round_number % 2 else operations[::-1]:
            started = clock()
            operation()
            samples[name].append(clock() - started)
    store.close()
    floor_p50 = statistics.median(samples["floor"])
    save_p50 = statistics.median(samples["save"])
    return save_p50 / floor_p50, floor_p50 / 1e3, save_p50 / 1e3


def main(argv: list[str]) -> int:
    base = Path(argv[0]) if argv else Path("reports")
    runs = int(argv[1]) if len(argv) > 1 else 3
    base.mkdir(parents=True, exist_ok=True)
    for payload in PAYLOADS:
        results = [measure(base, payload) for _ in range(runs)]
        ratios = " ".join(f"{ratio:.3f}" for ratio, _, _ in results)
        floors = " ".join(f"{floor:.0f}" for _, floor, _ in results)
        print(f"{payload:>3}: save / minimal p50 {ratios}   (minimal p50 us: {floors})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
