"""Literal histories for checker tests: one operation is an invoke and its completion.

>>> h = history(op("writer-0", "save", "j0", 1.0, 1.1), op("reader-0", "get", "j0", 2.0, 2.1))
>>> [record.index for record in h.records]
[0, 1, 2, 3]
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.history.log import INVOKE, OK, History, Record

Pair = list[Record]


def op(
    process: str,
    f: str,
    job: str | None,
    start: float,
    end: float,
    value: Any = None,
    result: Any = None,
    kind: str = OK,
    error: str | None = None,
    elapsed: float | None = None,
) -> Pair:
    """One operation: its invoke at ``start`` and its completion at ``end``."""
    return [
        Record(process, INVOKE, f, job, value, start),
        Record(process, kind, f, job, result, end, error, elapsed=elapsed),
    ]


def history(*pairs: Pair) -> History:
    """Records sorted by time and indexed, as :func:`~harness.history.log.merge_histories` does."""
    records = sorted((record for pair in pairs for record in pair), key=lambda record: record.time)
    return History(
        [dataclasses.replace(record, index=index) for index, record in enumerate(records)]
    )
