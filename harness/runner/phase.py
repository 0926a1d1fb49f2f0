"""The shape of a run's main part, by scenario kind: what a :class:`Phase` does and may ask.

A scenario's ``kind`` says what happens between the setup and the end of a run: processes working
while the faults hit them (``concurrent``), one timer process measuring the store against its
floors (``latency``), or the power-loss exploration (``powerloss``). Each kind is a
:class:`Phase` object in :data:`harness.runner.phases.PHASES`; the runner looks the scenario's
up once and calls it, never comparing kind names. A phase sees the run through
:class:`PhaseRun` (what it needs of the runner, which also serves as the faults' run).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from harness.history.log import HistoryLog
from harness.nemesis.fault import FaultRun, NotRunnable
from harness.runner.plan import ProcessPlan
from harness.runner.processes import Supervisor, Timeouts
from harness.scenario.loader import Scenario


class PhaseRun(FaultRun, Protocol):
    """The run, as a phase sees it."""

    scenario: Scenario
    spec: str
    seed: int
    epoch: float
    histories: Path  # the per-process history files
    nemesis: HistoryLog | None
    plan: ProcessPlan
    supervisor: Supervisor
    timeouts: Timeouts
    rng: random.Random  # the nemesis's seeded draws
    progress: Callable[[str], None]  # the progress line


class Phase:
    """A scenario kind's main part. Every method but :meth:`run` has a default."""

    def unavailable_reason(self, scenario: Scenario) -> str | None:
        """Why this machine cannot run the kind (strace missing), or None."""
        return None

    def check_store(self, setup: dict[str, Any]) -> NotRunnable | None:
        """Why the store (as its setup reported it) cannot be judged by this kind, or None."""
        return None

    def run(self, run: PhaseRun) -> None:
        """Everything between the setup and the end of the run."""
        raise NotImplementedError
