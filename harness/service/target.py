"""A running service as what ``verify`` checks: its label, its preflight, its scenario runs.

The suite (:mod:`harness.suite`) runs scenarios against a *target*; a store spec is one, and
:class:`ServiceTarget` is the other: the same phases of a verification (preflight, every
scenario run and judged, the criteria, the report), with the scenarios run by
:class:`harness.service.run.ServiceRunner` over HTTP.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.results import Preflight
from harness.runner.scenario_run import RunOutcome
from harness.scenario.loader import Scenario
from harness.service.preflight import run_service_preflight
from harness.service.run import ServiceRunner
from harness.service.spec import ServiceSpec


@dataclass(frozen=True)
class ServiceTarget:
    """The service ``--service`` named (``text``, as typed), verified from outside over HTTP."""

    spec: ServiceSpec
    text: str
    noun = "service"

    @property
    def label(self) -> str:
        return self.spec.label

    def preflight(self) -> Preflight:
        return run_service_preflight(self.spec)

    def run(
        self, scenario: Scenario, run_dir: Path, seed: int, progress: Callable[[str], None]
    ) -> RunOutcome:
        return ServiceRunner(scenario, self.spec, run_dir, seed, progress).run()

    def replay(self, seed: int, quick: bool) -> str:
        words = ["jobharness", "verify", "--service", shlex.quote(self.text)]
        if self.spec.builtin is not None:
            words += ["--store", self.spec.builtin]
        words += ["--seed", str(seed)]
        return " ".join(words + (["--quick"] if quick else []))
