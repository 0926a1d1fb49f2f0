"""The latency core: timed operations run in interleaved rounds, each once per round.

Absolute times on a shared machine move from run to run (another tenant's fsyncs, CPU
frequency), so nothing is timed alone. Every round runs every operation of a group once (a
store's call beside the floor it is judged against), in an order that changes each round, and
a noisy burst hits all of them alike. Both users of latency figures measure through
:func:`run_rounds`:

* ``jobharness bench`` (:mod:`harness.bench.run`): the order rotated by one each round, the
  samples kept and turned into figures by :mod:`harness.bench.figures`;
* the ``latency`` scenario's timer (:mod:`harness.bench.timer`): a seeded shuffle each round
  (:func:`shuffled`), and every measured call recorded into the history by a ``measure``
  function, which the ``performance_budget`` checker judges later.

What the core owns: warm-up rounds (timed, never kept), a time limit (``max_seconds`` from the
first measured round, or an absolute ``deadline`` on the monotonic clock), the garbage collector
paused inside the rounds (a collection triggered by one operation must not land in another's
sample), an operation that raises dropped from the later rounds with its error, and the
samples trimmed to the rounds every operation completed, so they stay index-aligned for the
per-round quotients of :func:`harness.bench.figures.paired_median_ratio`.

>>> ops = [TimedOperation("floor_read.1k", "floor_read", None, "1k", None, lambda: None)]
>>> samples, errors = run_rounds(ops, rounds=3, warmup=1)
>>> len(samples["floor_read.1k"]), errors
(3, {})
"""

from __future__ import annotations

import gc
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.errors import HarnessError

Samples = dict[str, list[float]]


@dataclass(frozen=True)
class TimedOperation:
    """One thing to time: ``call`` is timed; ``prepare`` (if any) runs untimed before it.

    ``floor`` names the figure it is judged against (its ``ratio``); ``also_against`` names
    further floors, as (record key, floor figure) pairs, e.g. ``("ratio_minimal",
    "floor_write_minimal.1k")``: each gives the figure one more paired ratio. ``job_id`` is the
    job a store operation works on (None for a floor), for a hook that needs its file.
    """

    figure: str
    op: str
    store: str | None
    payload: str
    floor: str | None
    call: Callable[[], object]
    prepare: Callable[[], None] | None = None
    also_against: tuple[tuple[str, str], ...] = ()
    job_id: str | None = None


class MeasurementError(HarnessError):
    """An operation did not do what its figure claims (e.g. a damaged read served an error)."""


Order = Callable[[list[TimedOperation], int], list[TimedOperation]]
Measure = Callable[[TimedOperation], float]


def rotated(operations: list[TimedOperation], round_number: int) -> list[TimedOperation]:
    """The bench's order: the list rotated by one more each round (no operation always first)."""
    shift = round_number % len(operations)
    return operations[shift:] + operations[:shift]


def shuffled(rng: random.Random) -> Order:
    """A new seeded order each round: no operation always follows the same one either.

    The timer's order: a database read right after a file write is slower than one right after
    another round trip, which once put the PostgreSQL floor above the store under rotation.
    """
    return lambda operations, round_number: rng.sample(operations, len(operations))


def time_call(op: TimedOperation) -> float:
    """Run ``op.prepare`` untimed, then ``op.call``; return the call's seconds."""
    if op.prepare is not None:
        op.prepare()
    started = time.perf_counter()
    op.call()
    return time.perf_counter() - started


def run_rounds(
    operations: Sequence[TimedOperation],
    *,
    rounds: int,
    warmup: int,
    max_seconds: float = math.inf,
    min_rounds: int = 5,
    deadline: float = math.inf,
    order: Order = rotated,
    measure: Measure = time_call,
) -> tuple[Samples, dict[str, str]]:
    """Time every operation once per round, in ``order``; ``warmup`` rounds first, not kept.

    Returns the samples (seconds, one per round, index-aligned across operations) and the
    operations that raised, with the error; an operation that raises is dropped from the later
    rounds (its samples too, so alignment holds). Before each measured round past
    ``min_rounds``, stops once ``max_seconds`` have passed since the first measured round or the
    monotonic clock is past ``deadline``. Measured rounds time through ``measure`` (the timer
    records each call there), warm-up rounds through :func:`time_call`.
    """
    active = list(operations)
    errors: dict[str, str] = {}
    samples: Samples = {op.figure: [] for op in active}
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for round_number in range(-warmup, rounds):
            if round_number == 0:
                deadline = min(deadline, time.monotonic() + max_seconds)
            if round_number >= max(min_rounds, 0) and time.monotonic() > deadline:
                break
            timer = measure if round_number >= 0 else time_call
            _run_one_round(order(active, round_number), timer, round_number >= 0, samples, errors)
            if errors:
                active = [op for op in active if op.figure not in errors]
                for figure in errors:
                    samples.pop(figure, None)
                if not active:
                    break
    finally:
        if gc_was_enabled:
            gc.enable()
    _trim_to_common_length(samples)
    return samples, errors


def _run_one_round(
    operations: list[TimedOperation],
    measure: Measure,
    keep: bool,
    samples: Samples,
    errors: dict[str, str],
) -> None:
    for op in operations:
        try:
            elapsed = measure(op)
        except Exception as error:
            errors[op.figure] = f"{type(error).__name__}: {error}"
            continue
        if keep:
            samples[op.figure].append(elapsed)


def _trim_to_common_length(samples: Samples) -> None:
    """A round cut short by an error leaves ragged lists; keep the rounds every figure has."""
    if samples:
        shortest = min(len(values) for values in samples.values())
        for values in samples.values():
            del values[shortest:]
