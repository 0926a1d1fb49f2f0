"""The client processes of a service run: who submits, who polls, in how many processes.

The clients run outside the harness's own process, so that 64 pollers measure the service and
not the harness's interpreter lock: submitters in one process, pollers in processes of at most
:data:`POLLERS_PER_PROCESS` each (``python -m harness.client.http_clients PLAN.json``, see
:mod:`harness.client.http_clients`). Each writes one history file per simulated client, and
every CSV it uploads under ``uploads/`` of the run folder (what the built-in service's downloads
are judged against). The runner stops them with a stop file, so every request in flight
completes and is recorded; one that does not stop in time is killed and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness.client.http_clients import ClientPlan
from harness.scenario.loader import Scenario
from harness.service.instances import Fleet
from harness.service.spec import ServiceSpec

POLLERS_PER_PROCESS = 32
READY_TIMEOUT = 30.0  # seconds a client process has to import and set itself up
STOP_GRACE = 15.0  # seconds a client process has to finish its requests after the stop file


class ClientProcesses:
    """The plans of a run's client processes, then the processes themselves."""

    def __init__(self, scenario: Scenario, service: ServiceSpec, fleet: Fleet, histories: Path):
        assert scenario.service is not None
        self.scenario = scenario
        self.service = service
        self.fleet = fleet
        self.histories = histories
        self.folder = histories.parent / "clients"
        self.stop_file = self.folder / "stop"
        self.go_file = self.folder / "go"
        self.plans: list[Path] = []
        self.processes: list[tuple[Path, subprocess.Popen[bytes]]] = []

    def write_plans(self, epoch: float, seed: int, duration: float) -> None:
        """One plan per client process; the scenario's groups split as the module says."""
        self.folder.mkdir(parents=True, exist_ok=True)
        groups: dict[str, list[str]] = {"submitter": [], "poller": []}
        think: dict[str, float] = {"submitter": 0.0, "poller": 0.0}
        for group in self.scenario.processes:
            names = groups[group.role]
            names += [f"{group.role}-{len(names) + n}" for n in range(group.count)]
            think[group.role] = max(think[group.role], group.think_ms)
        batches = [(groups["submitter"], [])]
        pollers = groups["poller"]
        for start in range(0, len(pollers), POLLERS_PER_PROCESS):
            batches.append(([], pollers[start : start + POLLERS_PER_PROCESS]))
        for number, (submitters, polling) in enumerate(batches):
            if not (submitters or polling):
                continue
            plan = self._plan(epoch, seed + number, duration, submitters, polling, think)
            path = self.folder / f"plan-{number}.json"
            path.write_text(json.dumps(plan.as_dict(), indent=1))
            self.plans.append(path)

    def _plan(
        self,
        epoch: float,
        seed: int,
        duration: float,
        submitters: list[str],
        pollers: list[str],
        think: dict[str, float],
    ) -> ClientPlan:
        options = self.scenario.service
        assert options is not None
        return ClientPlan(
            histories=os.fspath(self.histories),
            epoch=epoch,
            profile=self.service.profile.as_dict(),
            base_urls={i.name: i.base_url for i in self.fleet.instances},
            submitters=tuple(submitters),
            pollers=tuple(pollers),
            duration=duration,
            seed=seed,
            rows=options.rows,
            submit_ms=think["submitter"],
            poll_ms=think["poller"],
            download_share=options.download_share,
            stop_file=os.fspath(self.stop_file),
            uploads=os.fspath(self.histories.parent / "uploads"),
            ready_file=os.fspath(self.folder / f"ready-{len(self.plans)}"),
            go_file=os.fspath(self.go_file),
        )

    def start(self) -> None:
        for plan in self.plans:
            log = plan.with_suffix(".log")
            with open(log, "wb") as output:
                process = subprocess.Popen(
                    [sys.executable, "-m", "harness.client.http_clients", os.fspath(plan)],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            self.processes.append((log, process))

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> list[str]:
        """Wait (a bounded poll) until every client process is set up; the ones that are not."""
        deadline = time.monotonic() + timeout
        waiting = [self.folder / f"ready-{n}" for n in range(len(self.plans))]
        while waiting and time.monotonic() < deadline:
            waiting = [path for path in waiting if not path.exists()]
            if waiting:
                time.sleep(0.01)
        return [
            f"client process {path.name[6:]} was not ready within {timeout:.0f} s"
            for path in waiting
        ]

    def go(self) -> None:
        self.go_file.touch()

    def stop(self) -> list[str]:
        """Ask every client process to stop, wait for it; the problems, for the report's notes."""
        self.stop_file.touch()
        problems: list[str] = []
        if not self.processes:
            return problems
        deadline = time.monotonic() + STOP_GRACE
        for _, process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                problems.append(f"a client process did not stop within {STOP_GRACE:.0f} s: killed")
                continue
        processes, self.processes = self.processes, []  # a second stop has nothing to wait for
        for log, process in processes:
            if process.returncode not in (0, -9):  # -9: killed above, already said
                tail = log.read_text(errors="replace").strip().splitlines()[-5:]
                problems.append(
                    f"a client process ended with code {process.returncode}: " + " | ".join(tail)
                )
        return problems
