"""The scenario kinds, each the phase object that runs its main part (see :mod:`.phase`).

======================  ======================================================================
``concurrent``          processes at work under the faults, then restart, final reads and the
                        inventory (:mod:`harness.runner.main_phase`)
``latency``             one timer process times the store against the floors of its medium
                        (:mod:`harness.timing`), for the performance budget
``powerloss``           the on-disk states a power cut may leave, computed from a traced save
                        and update (:mod:`harness.nemesis.powerloss`)
======================  ======================================================================

What a kind reads of a scenario's ``[options]`` is validated when the scenario file is loaded
(:data:`harness.scenario.loader.KIND_OPTIONS`), so a bad option is a usage error before anything runs.
"""

from __future__ import annotations

from typing import Any

from harness.nemesis.fault import NotRunnable
from harness.nemesis.powerloss import explore_power_loss
from harness.nemesis.syscalls import can_inject
from harness.runner.main_phase import ConcurrentPhase
from harness.runner.phase import Phase, PhaseRun
from harness.scenario.loader import Scenario


class LatencyPhase(Phase):
    """One process measures the store against the floors, in seeded rounds."""

    def run(self, run: PhaseRun) -> None:
        assert run.nemesis is not None
        run.progress("measuring")
        run.nemesis.event("phase", None, {"phase": "latency"})
        workload = run.scenario.workload
        extra = {"samples": workload.samples, **run.scenario.options}
        timeout = run.timeouts.latency
        config = run.plan.config("timer-0", "timer", 0, jobs=(), extra=extra, duration=timeout)
        run.supervisor.run_to_end(config, timeout + 30)


class PowerLossPhase(Phase):
    """Explore the on-disk states a power cut may leave (see harness.nemesis.powerloss)."""

    def unavailable_reason(self, scenario: Scenario) -> str | None:
        reason = can_inject()  # the operation is traced with strace
        return f"needs syscall fault injection: {reason}" if reason else None

    def check_store(self, setup: dict[str, Any]) -> NotRunnable | None:
        medium = setup.get("medium", "file")
        if medium == "file":
            return None
        # The crash states are computed from the files under the store's root; a store whose
        # data lives on a server has none, and a cut of this disk is not what loses its writes
        # (the server's own durability is).
        return NotRunnable(
            f"the store keeps its data in {medium}, not in files under its folder: a power "
            "cut of this machine's disk has nothing of it to undo"
        )

    def run(self, run: PhaseRun) -> None:
        assert run.nemesis is not None
        run.progress("exploring power-loss states")
        run.nemesis.event("phase", None, {"phase": "powerloss"})
        notes = explore_power_loss(
            run.scenario, run.spec, run.root, run.run_dir, run.seed, run.histories, run.epoch
        )
        for note in notes:
            run.note(note)


PHASES: dict[str, Phase] = {
    "concurrent": ConcurrentPhase(),
    "latency": LatencyPhase(),
    "powerloss": PowerLossPhase(),
}


def phase_of(scenario: Scenario) -> Phase:
    return PHASES[scenario.kind]
