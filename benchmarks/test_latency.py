"""Latency of save_job, get_job, update_job per store and payload, and of the recovery read.

Every figure is paired with its floor in the same rounds (the ``paired`` fixture of
``conftest.py``): save and update with the durable replace, get and get_damaged with the plain
read. Read the ratio in ``extra_info``; absolute times move with the machine's load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.bench.operations import (
    FloorOperations,
    damaged_read_operation,
    floor_operations,
    payload_job,
    store_operations,
)

ROUNDS = {"1k": 200, "64k": 80, "1m": 15}
DAMAGED_ROUNDS = {
    "hardened": {"1k": 200, "64k": 40, "1m": 10},
    "phase470": {"1k": 5, "64k": 3, "1m": 3},
}
PAYLOADS = tuple(ROUNDS)


@pytest.fixture
def floors_of(test_folder: Path) -> Iterator[Callable[[str], dict[str, Any]]]:
    """``floors_of(payload)``: the floors by op name; the minimal floor's directory is closed after."""
    made: list[FloorOperations] = []

    def make(payload: str) -> dict[str, Any]:
        floors = floor_operations(test_folder / "floor", payload, payload_job("floor", payload))
        made.append(floors)
        return {op.op: op for op in floors.all()}

    yield make
    for floors in made:
        floors.close()


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("kind", ["floor_write", "floor_write_minimal", "floor_read"])
def test_floor(paired: Any, floors_of: Any, kind: str, payload: str) -> None:
    """The floors alone: the least a durable replace / a plain read costs on this disk."""
    paired(floors_of(payload)[kind], None, ROUNDS[payload])


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.every_store  # every built-in store, or the one --jobharness-store names
@pytest.mark.parametrize("op_name", ["save", "get", "update"])
def test_store_operation(
    paired: Any, make_store: Any, floors_of: Any, op_name: str, store_name: str, payload: str
) -> None:
    """One store operation at one payload, with its floor interleaved."""
    store = make_store(store_name, "store").store
    floors = floors_of(payload)
    operations = store_operations(store_name, store, payload, payload_job(store_name, payload))
    op = next(o for o in operations if o.op == op_name)
    floor = floors["floor_write"] if op_name in ("save", "update") else floors["floor_read"]
    paired(op, floor, ROUNDS[payload])


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("store_name", ["hardened", "phase470"])
def test_get_damaged(
    paired: Any, make_store: Any, floors_of: Any, store_name: str, payload: str
) -> None:
    """get_job right after the main file was truncated: the recovery path (phase470: ~250 ms)."""
    handle = make_store(store_name, "store")
    floors = floors_of(payload)
    job = payload_job(f"{store_name}-d", payload)
    op = damaged_read_operation(store_name, handle, payload, job)
    paired(op, floors["floor_read"], DAMAGED_ROUNDS[store_name][payload])
