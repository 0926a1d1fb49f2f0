"""Who does what in a run: the jobs and the configuration each process of a scenario gets.

The job ids come from the seed (:func:`harness.workload.job_ids.scenario_job_ids`). Writers of a
scenario with ``shared_jobs = false`` and workers split the jobs round-robin (writer ``i`` of
``n`` owns jobs ``i, i+n, i+2n...``), so each job has one writer; readers, updaters and the
side processes (setup, restart, final) see every job. Updater ``i`` owns the field ``u<i>``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from harness.client.process import ProcessConfig
from harness.scenario.loader import Scenario
from harness.workload.job_ids import scenario_job_ids


class ProcessPlan:
    """Builds the :class:`~harness.client.process.ProcessConfig` of every process of one run."""

    def __init__(
        self,
        scenario: Scenario,
        spec: str,
        root: Path,
        histories: Path,
        epoch: float,
        seed: int,
        side_duration: float,
    ) -> None:
        self.scenario = scenario
        self.spec = spec
        self.root = root
        self.histories = histories
        self.epoch = epoch
        self.seed = seed
        self.side_duration = side_duration

    @functools.cached_property
    def all_jobs(self) -> tuple[str, ...]:
        return scenario_job_ids(self.scenario, self.seed)

    def jobs_of(self, role: str, index: int) -> tuple[str, ...]:
        """The jobs process ``index`` of ``role`` writes or runs (readers: every job)."""
        jobs = self.all_jobs
        if role == "worker":  # round-robin, as for writers: worker i runs jobs i, i+n, i+2n...
            return jobs[index :: self._count("worker")]
        if role == "writer" and not self.scenario.workload.shared_jobs:
            return jobs[index :: self._count("writer")]
        return jobs

    def updater_fields(self) -> tuple[str, ...]:
        return tuple(f"u{i}" for i in range(self._count("updater")))

    def config(self, name: str, role: str, index: int, **overrides: Any) -> ProcessConfig:
        """A process's configuration: the run's common values, then ``overrides``."""
        workload = self.scenario.workload
        values: dict[str, Any] = {
            "name": name,
            "role": role,
            "index": index,
            "spec": self.spec,
            "root": os.fspath(self.root),
            "history_path": os.fspath(self.histories / f"{name}.jsonl"),
            "epoch": self.epoch,
            "seed": self.seed,
            "all_jobs": self.all_jobs,
            "payload_bytes": workload.payload_bytes,
            "payload_sizes": workload.payload_sizes,
            "shared_jobs": workload.shared_jobs,
            "duration": self.side_duration,
            "fields": self.updater_fields(),
        }
        values.update(overrides)
        return ProcessConfig(**values)

    def main_config(
        self, role: str, index: int, incarnation: int = 0, duration: float | None = None
    ) -> ProcessConfig:
        """A main-phase process (``incarnation`` > 0: restarted after a kill, recovers first)."""
        scenario = self.scenario
        group = next(g for g in scenario.processes if g.role == role)
        name = f"{role}-{index}" + (f".{incarnation}" if incarnation else "")
        return self.config(
            name,
            role,
            index,
            jobs=self.jobs_of(role, index),
            duration=scenario.workload.duration if duration is None else duration,
            max_ops=group.ops,
            steps=group.steps,
            think=group.think_ms / 1000,
            recover_first=incarnation > 0
            and bool(scenario.options.get("recover_on_restart", False)),
        )

    def _count(self, role: str) -> int:
        return sum(group.count for group in self.scenario.processes if group.role == role)
