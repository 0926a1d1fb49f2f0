"""Pause: a process stopped (SIGSTOP) for a while, then continued (SIGCONT), as a VM freeze does.

::

    [[faults]]
    kind = "pause"
    target = "writer"   # a role (one live process of it, drawn from the seed), or one process
    times = 2           # how many pauses in the main phase, one in each equal share of it
    ms = 400            # how long each lasts: ms = N or seconds = N (one of them)

A stopped process holds whatever it held (a lock stripe, an open temp file, a half-written
file) while the others carry on, and when it continues it finishes what it was doing as if
nothing happened: what a garbage-collection pause, a frozen VM or a laptop lid does to a
service. A store that relies on timing (a lock with a lease, a "stale" temp file cleaned by
age) meets a process that was not dead at all.

A pause is not a death and not a hang: the process is always continued (at the end of its
time, at the end of the phase, and in the run's cleanup after an error or Ctrl-C), and the time
it spent stopped is not counted against the store call it was in. Each pause is a window of the
history from ``pause`` (at SIGSTOP) to ``pause-end`` (at SIGCONT) on the process, with effect
``stopped`` (see :mod:`harness.history.fault_windows`).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from harness.errors import ScenarioError
from harness.history.fault_windows import STOPPED, new_window_id, window_closed, window_opened
from harness.history.log import OK
from harness.nemesis.fault import (
    Fault,
    FaultRun,
    FaultTarget,
    ScenarioFacts,
    TimedAction,
    check_target,
)
from harness.scenario.toml_table import TableReader

LONGEST = 60.0  # seconds: a pause longer than the harness's hang timeout would read as a hang
SHARE_HELD = 0.6  # at most this part of each share of the phase is spent stopped


@dataclass(frozen=True)
class Pause(Fault):
    """``times`` pauses of ``seconds`` each, of one live ``target`` process each."""

    kind = "pause"
    target: str = "writer"
    times: int = 1
    seconds: float = 0.3  # how long each pause lasts

    @classmethod
    def from_table(cls, table: TableReader) -> Pause:
        return cls(
            target=table.string("target", default="writer"),
            times=table.integer("times", default=1, minimum=1, maximum=1000),
            seconds=_held_seconds(table),
        )

    def check_scenario(self, facts: ScenarioFacts, key: str) -> None:
        check_target(self.target, facts, key)
        held = self.times * self.seconds
        if held > SHARE_HELD * facts.duration:
            raise ScenarioError(
                facts.where,
                key,
                f"pauses that fit in the main phase: times x the pause at most "
                f"{SHARE_HELD:g} x workload.duration ({facts.duration:g} s)",
                f"{self.times} x {self.seconds:g} s = {held:g} s",
            )

    def schedule(self, run: FaultRun, duration: float, rng: random.Random) -> list[TimedAction]:
        actions = []
        share = duration / self.times
        for number in range(self.times):
            at = (number + rng.uniform(0.1, 0.3)) * share
            held: list[tuple[FaultTarget, str]] = []  # what the stop did, for the continue
            actions.append(TimedAction(at, functools.partial(self._stop, run, rng, held)))
            resume = functools.partial(self._resume, run, held)
            actions.append(TimedAction(at + self.seconds, resume, always=True))
        return actions

    def _stop(self, run: FaultRun, rng: random.Random, held: list[tuple[FaultTarget, str]]) -> None:
        assert run.nemesis is not None
        candidates = [
            process
            for process in run.targets(self.target)
            if process.is_alive() and not process.is_stopped
        ]
        if not candidates:
            run.note(f"a pause of {self.target} was skipped: no running process to stop then")
            return
        process = rng.choice(candidates)
        window = new_window_id(self.kind)
        label = f"SIGSTOP for {self.seconds:g} s"
        opened = window_opened(window, STOPPED, process=process.name, label=label)
        value = {"process": process.name, "pid": process.pid, "seconds": self.seconds, **opened}
        token = run.nemesis.invoke("pause", None, value)
        if not process.stop():
            run.nemesis.complete(token, OK, {"process": process.name, "stopped": False})
            run.nemesis.event("pause-end", None, window_closed(window), kind=OK)
            return
        run.nemesis.complete(token, OK, {"process": process.name, "stopped": True})
        held.append((process, window))

    def _resume(self, run: FaultRun, held: list[tuple[FaultTarget, str]]) -> None:
        assert run.nemesis is not None
        while held:
            process, window = held.pop()
            # Invoked before SIGCONT, completed after: the window holds all the stopped time.
            token = run.nemesis.invoke("pause-end", None, {"process": process.name})
            stopped_for = process.resume()
            value = {"process": process.name, "stopped_for": round(stopped_for, 6)}
            run.nemesis.complete(token, OK, {**value, **window_closed(window)})


def _held_seconds(table: TableReader) -> float:
    """How long a pause lasts: ``seconds = N`` or ``ms = N``, exactly one of them."""
    if table.has("seconds") and table.has("ms"):
        raise table.error("ms", "either seconds or ms for a pause, not both", "both")
    if table.has("ms"):
        return table.number("ms", default=0.0, minimum=1.0, maximum=LONGEST * 1000) / 1000
    if not table.has("seconds"):
        raise table.error("seconds", "how long each pause lasts: seconds = N or ms = N")
    return table.number("seconds", default=0.0, minimum=0.001, maximum=LONGEST)
