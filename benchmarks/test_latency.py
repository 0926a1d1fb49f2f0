"""Latency of save_job, get_job, update_job per store and payload, and of the recovery read.

Every figure is paired with its floor in the same rounds (the ``paired`` fixture of
``conftest.py``): save and update with the durable replace, get and get_damaged with the plain
read. Read the ratio in ``extra_info``; absolute times move with the machine's load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.bench_latency import (
    damaged_read_operation,
    floor_operations,
    payload_job,
    store_operations,
)
from harness.bench_stores import ALL_STORES

ROUNDS = {"1k": 200, "64k": 80, "1m": 15}
DAMAGED_ROUNDS = {
    "hardened": {"1k": 200, "64k": 40, "1m": 10},
    "phase470": {"1k": 5, "64k": 3, "1m": 3},
}
PAYLOADS = tuple(ROUNDS)


def _floors(folder: Path, payload: str) -> dict[str, Any]:
    return {
        op.op: op
        for op in floor_operations(folder / "floor", payload, payload_job("floor", payload))
    }


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("kind", ["floor_write", "floor_read"])
def test_floor(paired: Any, test_folder: Path, kind: str, payload: str) -> None:
    """The floors alone: the least a durable replace / a plain read costs on this disk."""
    paired(_floors(test_folder, payload)[kind], None, ROUNDS[payload])


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("store_name", ALL_STORES)
@pytest.mark.parametrize("op_name", ["save", "get", "update"])
def test_store_operation(
    paired: Any, make_store: Any, test_folder: Path, op_name: str, store_name: str, payload: str
) -> None:
    """One store operation at one payload, with its floor interleaved."""
    store = make_store(store_name, "store")
    floors = _floors(test_folder, payload)
    operations = store_operations(store_name, store, payload, payload_job(store_name, payload))
    op = next(o for o in operations if o.op == op_name)
    floor = floors["floor_write"] if op_name in ("save", "update") else floors["floor_read"]
    paired(op, floor, ROUNDS[payload])


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("store_name", ["hardened", "phase470"])
def test_get_damaged(
    paired: Any, make_store: Any, test_folder: Path, store_name: str, payload: str
) -> None:
    """get_job right after the main file was truncated: the recovery path (phase470: ~250 ms)."""
    store = make_store(store_name, "store")
    floors = _floors(test_folder, payload)
    op = damaged_read_operation(store_name, store, payload, payload_job(f"{store_name}-d", payload))
    paired(op, floors["floor_read"], DAMAGED_ROUNDS[store_name][payload])
