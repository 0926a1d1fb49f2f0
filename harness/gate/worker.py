"""One side of an A/B run: a child process that times one store operation per request.

Two versions of ``durable_jobs`` cannot live in one Python process, so each side of ``gate
--against`` is a process of its own, started by :mod:`harness.gate.ab` as::

    python -m harness.gate.worker SPEC LABEL ROOT PAYLOADS

with ``PYTHONPATH`` putting that side's ``durable_jobs`` (a symlink into its tree) before the
working tree's ``harness``: the measuring code is the same on both sides, only the store differs.
The child opens the store at ROOT, builds the operations the bench times (``save``, ``get``,
``update`` and ``get_damaged`` per payload, :mod:`harness.bench.operations`), applies an
injected regression if ``$JOBHARNESS_INJECT_REGRESSION`` is set (the parent sets it for the new
side only), and answers on its standard output, one JSON object a line:

* first ``{"ready": [figures...], "durable_jobs": "<folder>", "notes": [...]}``, or
  ``{"fatal": "<why>"}`` if the store does not open;
* then, for each line read from standard input: a figure name -> ``{"t": seconds}`` (the call
  alone, its untimed ``prepare`` before it) or ``{"error": "<why>"}``; ``gc`` -> a collection,
  ``{"t": 0}``; ``quit`` or end of input -> the store closed and the process ends.

Anything the store prints goes to standard error, so it cannot garble the answers. The garbage
collector is paused between collections, so a collection cannot land inside a timed call.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from harness.bench.inject import inject_regression
from harness.bench.operations import damaged_read_operation, payload_job, store_operations
from harness.bench.rounds import MeasurementError, TimedOperation, time_call
from harness.store.handle import StoreHandle


def build_operations(
    handle: StoreHandle, label: str, payloads: list[str]
) -> tuple[dict[str, TimedOperation], list[str]]:
    """The timed operations of the store at every payload, and notes on what is left out."""
    operations: list[TimedOperation] = []
    notes = []
    for payload in payloads:
        operations += store_operations(label, handle.store, payload, payload_job(label, payload))
        job = payload_job(f"{label}-damaged", payload)
        try:
            operations.append(damaged_read_operation(label, handle, payload, job))
        except MeasurementError as error:
            notes.append(f"get_damaged is not measured for {error}")
    operations = inject_regression(operations, {label: handle})
    return {op.figure: op for op in operations}, notes


def serve(operations: dict[str, TimedOperation], requests: TextIO, answers: TextIO) -> None:
    """Answer timing requests until ``quit`` or the end of ``requests``."""
    for line in requests:
        name = line.strip()
        if name == "quit":
            return
        if name == "gc":
            gc.collect()
            reply: dict[str, Any] = {"t": 0.0}
        elif name not in operations:
            reply = {"error": f"no operation {name!r} on this side"}
        else:
            try:
                reply = {"t": time_call(operations[name])}
            except Exception as error:
                reply = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(reply) + "\n")
        answers.flush()


def main(argv: list[str]) -> int:
    spec, label, root, payloads = argv
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the store's prints go to stderr, never into the answers
    sys.stdout = sys.stderr
    try:
        Path(root).mkdir(parents=True, exist_ok=True)
        handle = StoreHandle.open(spec, root)
        operations, notes = build_operations(handle, label, payloads.split(","))
        import durable_jobs  # which one this side measures: the parent checks it

        where = os.path.dirname(os.path.realpath(durable_jobs.__file__))
    except Exception as error:
        answers.write(json.dumps({"fatal": f"{type(error).__name__}: {error}"}) + "\n")
        answers.flush()
        return 1
    ready = {"ready": sorted(operations), "durable_jobs": where, "notes": notes}
    answers.write(json.dumps(ready) + "\n")
    answers.flush()
    gc.collect()
    gc.disable()
    try:
        serve(operations, sys.stdin, answers)
    finally:
        handle.discard()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
