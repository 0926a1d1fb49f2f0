"""The operations a latency figure times: the floors, and each store's save, get and update.

A figure is one operation of one store at one payload (``save.hardened.1k``), compared with the
least that kind of operation can cost on this disk, measured in the same rounds
(:mod:`harness.bench.rounds`):

=========================  ============================================================
``floor_write.<p>``         unique temp file, write, fsync, rename, fsync of the directory
                            (:func:`harness.bench.floors.floor_durable_replace`)
``floor_write_minimal.<p>`` fixed temp name, write, fsync, rename, fsync of a directory
                            descriptor kept open (:class:`harness.bench.floors.MinimalReplace`)
``floor_read.<p>``          open, read, ``json.loads`` (:func:`harness.bench.floors.floor_plain_read`)
``save/update``             ``ratio`` to ``floor_write``, ``ratio_minimal`` to the minimal one
``get/get_damaged``         ``ratio`` to ``floor_read`` of the same payload
=========================  ============================================================

>>> import tempfile
>>> floors = floor_operations(Path(tempfile.mkdtemp()), "1k", payload_job("floor", "1k"))
>>> [op.figure for op in floors.all()]
['floor_write.1k', 'floor_write_minimal.1k', 'floor_read.1k']
>>> floors.close()
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bench.floors import MinimalReplace, floor_durable_replace, floor_plain_read
from harness.bench.rounds import MeasurementError, TimedOperation
from harness.bench.stores import PAYLOAD_BYTES, make_bench_job
from harness.store.handle import StoreHandle

WRITE_OPS = ("floor_write", "floor_write_minimal", "save", "update")


@dataclass(frozen=True)
class FloorOperations:
    """The three floors of one payload; :meth:`close` releases the minimal floor's directory."""

    write: TimedOperation
    write_minimal: TimedOperation
    read: TimedOperation
    close: Callable[[], None]

    def all(self) -> list[TimedOperation]:
        return [self.write, self.write_minimal, self.read]


def floor_operations(floor_dir: Path, payload: str, job: dict[str, Any]) -> FloorOperations:
    """The floors of ``payload``, on files in ``floor_dir`` holding ``job`` as plain JSON."""
    floor_dir.mkdir(parents=True, exist_ok=True)
    body = json.dumps(job).encode()
    path = os.fspath(floor_dir / f"floor-{payload}.json")
    floor_durable_replace(floor_dir, path, body)  # so the first read has a file
    minimal = MinimalReplace(
        floor_dir, os.fspath(floor_dir / f"floor-minimal-{payload}.json"), body
    )
    return FloorOperations(
        write=TimedOperation(
            f"floor_write.{payload}",
            "floor_write",
            None,
            payload,
            None,
            lambda: floor_durable_replace(floor_dir, path, body),
        ),
        write_minimal=TimedOperation(
            f"floor_write_minimal.{payload}",
            "floor_write_minimal",
            None,
            payload,
            None,
            minimal.write,
        ),
        read=TimedOperation(
            f"floor_read.{payload}",
            "floor_read",
            None,
            payload,
            None,
            lambda: floor_plain_read(path),
        ),
        close=minimal.close,
    )


def store_operations(
    name: str, store: Any, payload: str, job: dict[str, Any]
) -> list[TimedOperation]:
    """``save``, ``get`` and ``update`` of one job of ``payload`` size in ``store``.

    The writes are judged against both write floors: ``ratio`` (the durable replace) and
    ``ratio_minimal`` (the minimal one), each paired round by round.
    """
    job_id = job["id"]
    store.save_job(job_id, job)
    counter = itertools.count(1)
    write_floor, read_floor = f"floor_write.{payload}", f"floor_read.{payload}"
    minimal = (("ratio_minimal", f"floor_write_minimal.{payload}"),)
    return [
        TimedOperation(
            f"save.{name}.{payload}",
            "save",
            name,
            payload,
            write_floor,
            lambda: store.save_job(job_id, job),
            also_against=minimal,
            job_id=job_id,
        ),
        TimedOperation(
            f"get.{name}.{payload}",
            "get",
            name,
            payload,
            read_floor,
            lambda: store.get_job(job_id),
            job_id=job_id,
        ),
        TimedOperation(
            f"update.{name}.{payload}",
            "update",
            name,
            payload,
            write_floor,
            lambda: store.update_job(job_id, {"progress": next(counter)}),
            also_against=minimal,
            job_id=job_id,
        ),
    ]


def damaged_read_operation(
    name: str, handle: StoreHandle, payload: str, job: dict[str, Any]
) -> TimedOperation:
    """``get_job`` right after the job's main file was truncated (the recovery path).

    The job is saved twice first, so a backup of the same content exists. The main file is torn
    again before every sample, because the hardened store repairs it on the read being timed.
    A read that does not come back with the job fails the figure: it would time the wrong path.
    Where the main file is comes from the store (:meth:`StoreHandle.job_file`), never guessed:
    a store that does not say raises :class:`MeasurementError` with the reason.
    """
    store, job_id = handle.store, job["id"]
    store.save_job(job_id, job)
    store.save_job(job_id, job)
    main = handle.job_file(job_id) if handle.has("paths_for") else None
    if main is None:
        raise MeasurementError(
            f"{name}: the store does not say where its job files are (paths_for)"
        )
    good_size = os.path.getsize(main)

    def damage() -> None:
        os.truncate(main, max(1, good_size // 2))  # torn: the store must recover

    def read() -> object:
        result = store.get_job(job_id)
        if not isinstance(result, dict) or result.get("status") == "unknown":
            raise MeasurementError(
                f"{name}: get_job on a damaged file returned {str(result)[:120]}"
            )
        return result

    return TimedOperation(
        f"get_damaged.{name}.{payload}",
        "get_damaged",
        name,
        payload,
        f"floor_read.{payload}",
        read,
        damage,
        job_id=job_id,
    )


def payload_job(store_name: str, payload: str) -> dict[str, Any]:
    """The job a latency figure writes: one per store and payload, same content every run."""
    return make_bench_job(f"bench-{store_name}-{payload}", PAYLOAD_BYTES[payload])
