"""The stores and payloads a benchmark works on: which stores, which sizes, opened and cleaned up.

Every benchmark opens the built-in stores as the harness does, as a
:class:`~harness.store.handle.StoreHandle` (the spec's factory, ``paths_for`` answered by the
store, never guessed), each in its own folder of a work directory that sits on the same
filesystem as the floors it is compared with::

    with opened_store("hardened", work / "hardened-1k") as handle:
        handle.store.save_job("j1", make_bench_job("j1", PAYLOAD_BYTES["1k"]))

PostgreSQL picks its table from the root path, so each root gets its own table; it is dropped
when the ``with`` block ends, even after Ctrl-C.

>>> parse_store_list("hardened, sqlite")
['hardened', 'sqlite']
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.store.handle import StoreHandle
from harness.store.spec import parse_store_spec

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
            f"choose among {','.join(ALL_STORES)}, or give your own with --store SPEC"
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


_CUSTOM_STORES: dict[str, str] = {}  # label -> spec, for the stores given with --store


def add_custom_store(spec: str) -> str:
    """Benchmark the store of ``spec`` too; return its label in figure ids (``save.<label>.1k``).

    A built-in name stays itself; another spec is labelled by its file or module name (dots and
    other separators of the dotted figure ids replaced), kept apart from the built-in names.
    The table is process-wide, so the forked processes of the scaling phase see it as well.
    """
    parsed = parse_store_spec(spec)
    parsed.load_factory()  # a spec that does not import is one line and exit 2, before any phase
    if parsed.is_builtin:
        return parsed.target
    stem = Path(parsed.target).stem if parsed.kind == "file" else parsed.target.rsplit(".", 1)[-1]
    label = re.sub(r"[^A-Za-z0-9_-]+", "_", stem) or "custom"
    if label in ALL_STORES or _CUSTOM_STORES.get(label, spec) != spec:
        label = f"{label}-{len(_CUSTOM_STORES) + 1}"
    _CUSTOM_STORES[label] = parsed.text
    return label


def open_bench_store(name: str, root: Path) -> StoreHandle:
    """Open store ``name`` (built-in, or a label of :func:`add_custom_store`) at ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    return StoreHandle.open(_CUSTOM_STORES.get(name, name), root)


def dispose_store(handle: StoreHandle) -> None:
    """Close the store and drop what it keeps outside its folder (a PostgreSQL table); never
    raises (cleanup must go on)."""
    handle.discard()


@contextlib.contextmanager
def opened_store(name: str, root: Path) -> Iterator[StoreHandle]:
    """Open a store for the duration of a ``with`` block, then close it and drop its table."""
    handle = open_bench_store(name, root)
    try:
        yield handle
    finally:
        dispose_store(handle)


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
