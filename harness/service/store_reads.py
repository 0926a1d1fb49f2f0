"""The same jobs read through the store itself, beside the API's latency in the same run.

For the built-in service the harness knows the store behind the API (its ``--store`` URL), so
after the final reads it opens that store directly and times ``get_job`` on the run's accepted
jobs: the part of a ``GET /jobs/{id}`` that is the store's, measured on the same disk, in the
same run, a moment after the API's figures. :mod:`harness.checkers.http_latency` puts the two
side by side (the rest is HTTP, the framework and the machine's load).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness.service.spec import ServiceSpec
from harness.stats import percentile

READS = 300  # get_job calls timed, round-robin over the accepted jobs


def time_store_reads(
    spec: ServiceSpec, data: Path, run: str, jobs: list[str]
) -> dict[str, Any] | None:
    """p50/p99 (ms) of ``get_job`` through the built-in service's own store; None if not built in."""
    if spec.builtin is None or not jobs:
        return None
    from durable_jobs.store import (
        open_store,
    )  # the harness judges any service; only this one is ours

    argv = spec.argv(port=0, data=data, instance=0, run=run)
    store = open_store(argv[argv.index("--store") + 1])
    try:
        seconds = []
        for number in range(READS):
            started = time.perf_counter()
            store.get_job(jobs[number % len(jobs)])
            seconds.append(time.perf_counter() - started)
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
    seconds.sort()
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
    }
