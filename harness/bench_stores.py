"""The stores and payloads a benchmark works on: which stores, which sizes, opened and cleaned up.

Every benchmark opens the built-in stores through the same factories the harness uses
(:data:`harness.store.spec.BUILTIN_STORES`, ``factory(root)``), each in its own folder of a work
directory that sits on the same filesystem as the floors it is compared with::

    with opened_store("hardened", work / "hardened-1k") as store:
        store.save_job("j1", make_bench_job("j1", PAYLOAD_BYTES["1k"]))

PostgreSQL picks its table from the root path, so each root gets its own table; it is dropped
when the ``with`` block ends, even after Ctrl-C.

>>> parse_store_list("hardened, sqlite")
['hardened', 'sqlite']
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.store.spec import BUILTIN_STORES

ALL_STORES = ("naive", "phase470", "hardened", "sqlite", "postgres")
FILE_STORES = ("naive", "phase470", "hardened")
PAYLOAD_BYTES = {"1k": 1024, "64k": 64 * 1024, "1m": 1024 * 1024}
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def parse_store_list(text: str | None) -> list[str]:
    """Parse ``--stores``: comma-separated built-in names, in the canonical order, no repeats.

    ``None`` means every store (PostgreSQL is dropped later if no server answers).
    """
    if text is None:
        return list(ALL_STORES)
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ConfigError(f"--stores {text!r} names no store; give e.g. --stores hardened,sqlite")
    unknown = [name for name in names if name not in ALL_STORES]
    if unknown:
        raise ConfigError(
            f"--stores: {', '.join(map(repr, unknown))} is not a built-in store; "
            f"choose among {','.join(ALL_STORES)} (the bench measures built-in stores only)"
        )
    return [name for name in ALL_STORES if name in names]


def postgres_url() -> str:
    """The server the ``postgres`` factory connects to (``$JOBHARNESS_POSTGRES_URL``)."""
    return os.environ.get("JOBHARNESS_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_unreachable_reason(timeout_s: int = 3) -> str | None:
    """None when the PostgreSQL server answers, else a one-line reason it does not."""
    try:
        import psycopg

        with psycopg.connect(postgres_url(), connect_timeout=timeout_s) as connection:
            connection.execute("SELECT 1")
    except Exception as error:
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        return f"PostgreSQL at {postgres_url()} is not reachable: {first_line}"
    return None


def open_bench_store(name: str, root: Path) -> Any:
    """Open built-in store ``name`` rooted at ``root`` with its harness factory."""
    root.mkdir(parents=True, exist_ok=True)
    return BUILTIN_STORES[name](root)


def dispose_store(store: Any) -> None:
    """Drop a PostgreSQL table and close connections; never raises (cleanup must go on)."""
    with contextlib.suppress(Exception):
        if callable(getattr(store, "drop", None)):
            store.drop()
    with contextlib.suppress(Exception):
        if callable(getattr(store, "close", None)):
            store.close()


@contextlib.contextmanager
def opened_store(name: str, root: Path) -> Iterator[Any]:
    """Open a store for the duration of a ``with`` block, then drop its table and close it."""
    store = open_bench_store(name, root)
    try:
        yield store
    finally:
        dispose_store(store)


def make_bench_job(
    job_id: str, size: int, *, status: str = "running", seed: int = 0
) -> dict[str, Any]:
    """A job of about ``size`` bytes of JSON: a status, a counter and random hex data.

    Hex keeps the JSON encoders on their fast ASCII path, as the incident's jobs (CSV rows, result
    URLs) mostly are; the seed fixes the content, so every run writes the same bytes.
    """
    rng = random.Random(f"{job_id}:{size}:{seed}")
    overhead = 64  # the keys and punctuation around the data
    return {
        "id": job_id,
        "status": status,
        "progress": 0,
        "data": rng.randbytes(max(size - overhead, 2) // 2).hex(),
    }


def damage_main_file(store: Any, job_id: str, good_size: int) -> None:
    """Truncate the job's main file to half its good size: torn, so the store must recover."""
    main = os.fspath(store.paths_for(job_id)["main"])
    os.truncate(main, max(1, good_size // 2))


def main_file_size(store: Any, job_id: str) -> int:
    """The size of the job's main file as the store wrote it."""
    return os.path.getsize(store.paths_for(job_id)["main"])
