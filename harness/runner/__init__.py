"""Run one scenario against one store: spawn the processes, inject the faults, collect the history.

Phases of :func:`run_scenario`, each recorded in the history:

1. **preflight**: can this scenario run here? (its kind's needs and each fault's: strace for
   syscall faults and power loss, root for a tmpfs). If not, the result is *unknown* (the harness
   did not see), with the reason.
2. **setup**: one process opens the store, saves version 0 of every job, and reports the store's
   optional methods and where each job's files are. A scenario that needs what the store lacks
   (``update_job`` for updaters, job files for damage) is *not applicable*, with the reason; one
   whose faults could not be aimed (``paths_for`` raised) is *unknown*.
3. **main**, shaped by the scenario's kind (:mod:`harness.runner.phases`): for ``concurrent``,
   every process starts, opens the store itself and says it is ready; faults are armed (strace
   attached) before anyone moves; then *go*. The faults run their schedules while the runner
   watches every process: a process killed by a fault may be respawned as a new incarnation; one
   that overstays its deadline is killed as hung and its operation recorded as *info*.
4. **restart**: a fresh process calls ``recover()``, as an application does at start-up.
5. **final**: a fresh process reads every job once in a quiet store.
6. **inventory**: the files left in the store's directory (for the no-litter check).

The per-process history files are then merged into ``history.jsonl`` in the run folder. No
process, tracer, mount or stopped process outlives the run, even on Ctrl-C.

The package, one role a module: :mod:`.scenario_run` (the phases in order), :mod:`.processes`
(starting, watching and ending processes), :mod:`.plan` (who does what),
:mod:`.phase`/:mod:`.phases`/:mod:`.main_phase` (the scenario kinds), :mod:`.inventory`. The
runner never asks which kind a fault is: faults are :class:`harness.nemesis.fault.Fault` objects.
"""

from __future__ import annotations

from pathlib import Path

from harness.history.log import INFO
from harness.runner.processes import DEFAULT_TIMEOUTS, Timeouts
from harness.runner.scenario_run import Progress, RunOutcome, ScenarioRunner
from harness.scenario.loader import Scenario

# The timeouts in seconds, read when a run starts: a caller (a test) may shorten one here.
START_TIMEOUT = DEFAULT_TIMEOUTS.start  # for a process to open the store and say it is ready
OP_TIMEOUT = DEFAULT_TIMEOUTS.op  # one store call (or overrun of the phase) before it is hung
PATIENCE = DEFAULT_TIMEOUTS.patience  # a call may take before the progress line names it
SIDE_PHASE_TIMEOUT = DEFAULT_TIMEOUTS.side_phase  # setup, restart and final processes
LATENCY_TIMEOUT = DEFAULT_TIMEOUTS.latency


def run_scenario(
    scenario: Scenario, spec: str, run_dir: Path, seed: int, progress: Progress | None = None
) -> RunOutcome:
    """Run ``scenario`` against the store named by ``spec``; the history lands in ``run_dir``."""
    timeouts = Timeouts(START_TIMEOUT, OP_TIMEOUT, PATIENCE, SIDE_PHASE_TIMEOUT, LATENCY_TIMEOUT)
    return ScenarioRunner(scenario, spec, run_dir, seed, progress, timeouts).run()


__all__ = [
    "INFO",
    "LATENCY_TIMEOUT",
    "OP_TIMEOUT",
    "PATIENCE",
    "SIDE_PHASE_TIMEOUT",
    "START_TIMEOUT",
    "RunOutcome",
    "ScenarioRunner",
    "Timeouts",
    "run_scenario",
]
