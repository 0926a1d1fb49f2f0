"""One run of one scenario against one store: the phases, in order (see :mod:`harness.runner`).

:class:`ScenarioRunner` owns the run's folder, its clock (``epoch``), the nemesis's history
log, its seeded random draws and its notes; it hands the processes to a
:class:`~harness.runner.processes.Supervisor`, the main part to the scenario kind's
:class:`~harness.runner.phase.Phase`, and the faults the same few calls whatever their kind
(:class:`~harness.nemesis.fault.Fault`). It is also the run as faults and phases see it
(:class:`~harness.runner.phase.PhaseRun`).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import multiprocess

from harness.history.log import OK, HistoryLog, Record, merge_histories, write_history
from harness.nemesis.fault import FaultTarget, NotRunnable, is_target
from harness.runner.inventory import list_files
from harness.runner.phases import phase_of
from harness.runner.plan import ProcessPlan
from harness.runner.processes import DEFAULT_TIMEOUTS, ProcessHandle, Supervisor, Timeouts
from harness.scenario.loader import Scenario
from harness.store.spec import parse_store_spec

Progress = Callable[[str], None]


@dataclass
class RunOutcome:
    """What a scenario run produced (the history is on disk in ``run_dir``)."""

    scenario: Scenario
    run_dir: Path
    records: list[Record]
    applicable: bool = True
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    unknown: bool = False  # the harness could not run or follow it: ``reason`` says why


class ScenarioRunner:
    """Runs one scenario; see :mod:`harness.runner` for the phases."""

    def __init__(
        self,
        scenario: Scenario,
        spec: str,
        run_dir: Path,
        seed: int,
        progress: Progress | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        self.scenario = scenario
        self.spec = spec
        self.run_dir = run_dir
        self.seed = seed
        self.timeouts = timeouts
        self.rng = random.Random(f"{seed}/{scenario.name}/nemesis")
        self.progress: Progress = progress or (lambda message: None)
        self.epoch = time.monotonic()
        self.histories = run_dir / "processes"
        self.root = run_dir / "store"
        self.notes: list[str] = []
        self.setup: dict[str, Any] = {}
        self.nemesis: HistoryLog | None = None
        self.phase = phase_of(scenario)
        self.plan = ProcessPlan(
            scenario, spec, self.root, self.histories, self.epoch, seed, timeouts.side_phase
        )
        self.supervisor = Supervisor(
            multiprocess.get_context("fork"),
            self.plan,
            timeouts,
            self.progress,
            self.note,
            self.epoch,
        )

    # ------------------------------------------------------------ the run

    def run(self) -> RunOutcome:
        # A folder reused from an earlier run (the same --out) would mix its histories into
        # this one: the process files are appended to.
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.histories.mkdir(exist_ok=True)
        reason = self._unavailable_reason()
        if reason:  # the machine cannot run it: the harness did not see, so not a pass
            return self._not_run(NotRunnable(reason, unknown=True))
        self.nemesis = self.supervisor.nemesis = HistoryLog(
            self.histories / "nemesis.jsonl", "nemesis", self.epoch
        )
        started = time.monotonic()
        try:
            self._record_scenario()
            for fault in self.scenario.faults:
                fault.prepare(self)
            self.root.mkdir(parents=True, exist_ok=True)
            if not self._run_setup():
                return self._finish(started)
            problem = self._check_store()
            if problem:
                return self._not_run(problem)
            self.phase.run(self)
            return self._finish(started)
        finally:
            self._cleanup()

    def _unavailable_reason(self) -> str | None:
        """Why this machine cannot run the scenario: its kind's needs, then its faults'."""
        reason = self.phase.unavailable_reason(self.scenario)
        for fault in self.scenario.faults:
            reason = reason or fault.unavailable_reason()
        return reason

    def _check_store(self) -> NotRunnable | None:
        """Why the store, as the setup found it, cannot be judged by this scenario, or None."""
        problem = self.phase.check_store(self.setup)
        if problem:
            return problem
        if "updater" in self.scenario.roles() and not self.setup.get("capabilities", {}).get(
            "update_job"
        ):
            return NotRunnable(
                "the store has no update_job(job_id, changes), which concurrent updates need"
            )
        for fault in self.scenario.faults:
            problem = fault.check_store(self.setup)
            if problem:
                return problem
        return None

    def _not_run(self, problem: NotRunnable) -> RunOutcome:
        return RunOutcome(
            self.scenario,
            self.run_dir,
            [],
            applicable=False,
            reason=problem.reason,
            setup=self.setup,
            unknown=problem.unknown,
        )

    def _record_scenario(self) -> None:
        assert self.nemesis is not None
        scenario = self.scenario
        self.nemesis.event(
            "scenario",
            None,
            {
                "name": scenario.name,
                "kind": scenario.kind,
                "roles": sorted(scenario.roles()),
                "jobs": list(self.plan.all_jobs),
                "fields": list(self.plan.updater_fields()),
                "shared_jobs": scenario.workload.shared_jobs,
                "recover_after": scenario.recover_after,
                "spec": self.spec,
                "seed": self.seed,
            },
        )

    def _run_setup(self) -> bool:
        """The setup process saves version 0 of every job and reports what the store can do."""
        self.progress("setup")
        jobs = () if "worker" in self.scenario.roles() else self.plan.all_jobs
        report = self.run_dir / "setup.json"
        config = self.plan.config("setup", "setup", 0, jobs=jobs, setup_report=os.fspath(report))
        ended = self.supervisor.run_to_end(config, self.timeouts.side_phase)
        try:
            self.setup = json.loads(report.read_text())
        except (OSError, ValueError):
            self._unknown(
                f"setup did not complete ({ended}): the store could not be opened or its first "
                "versions could not be saved, so nothing after it could be judged"
            )
            return False
        assert self.nemesis is not None
        layout = {job: sorted(files) for job, files in self.setup.get("paths", {}).items()}
        self.nemesis.event(
            "setup",
            None,
            {
                "capabilities": self.setup.get("capabilities", {}),
                "paths": layout,
                # For no_litter: every job's files, the store's declared files, and what was
                # already there before the main phase (a file that was is not the run's litter).
                "layout": self.setup.get("layout", {}),
                "owned": self.setup.get("owned", []),
                "owned_error": self.setup.get("owned_error"),
                "paths_error": self.setup.get("paths_error"),
                "files": [f["path"] for f in list_files(self.root)],
            },
            kind=OK,
        )
        return True

    def _unknown(self, reason: str) -> None:
        """The scenario cannot be judged (its setup failed): say so in the history and the notes."""
        assert self.nemesis is not None
        self.notes.append(reason)
        self.nemesis.event("unknown", None, {"reason": reason})

    def _finish(self, started: float) -> RunOutcome:
        if self.nemesis is not None:
            self.nemesis.close()
        records = merge_histories(sorted(self.histories.glob("*.jsonl")), self.supervisor.ends)
        write_history(self.run_dir / "history.jsonl", records)
        return RunOutcome(
            self.scenario,
            self.run_dir,
            records,
            notes=self.notes,
            setup=self.setup,
            duration=time.monotonic() - started,
        )

    def _cleanup(self) -> None:
        """No process, tracer, mount or stopped process outlives the run, even on Ctrl-C."""
        self.supervisor.cleanup()
        for fault in self.scenario.faults:
            try:
                fault.cleanup(self)
            except Exception as error:  # one fault's cleanup must not skip the others'
                self.note(
                    f"cleanup of a {fault.kind} fault failed: {type(error).__name__}: {error}"
                )
        if self.nemesis is not None:
            self.nemesis.close()
        try:
            parse_store_spec(self.spec).cleanup(self.root)
        except Exception as error:  # cleanup must not hide the run's result
            self.notes.append(f"cleanup of the store failed: {type(error).__name__}: {error}")
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------ the run, as faults see it

    def note(self, text: str) -> None:
        self.notes.append(text)

    def targets(self, target: str) -> list[FaultTarget]:
        return [handle for handle in self.supervisor.running if is_target(handle, target)]

    def kill(self, process: FaultTarget, how: str) -> None:
        assert isinstance(process, ProcessHandle)
        self.supervisor.kill(process, f"killed by nemesis: {how}", by_nemesis=True)

    def _jobs_of(self, role: str, index: int) -> tuple[str, ...]:
        """The jobs of one process (kept for tests that look at the split)."""
        return self.plan.jobs_of(role, index)
