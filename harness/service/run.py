"""One run of one service scenario: instances up, clients and faults at work, restart, final reads.

The phases, each recorded in the history as a ``phase`` event of the process ``runner``:

1. **preflight of the scenario**: can its faults run here (strace, root for a small disk)? Does
   it apply to this service (a damage scenario needs the profile to say where job files are)?
   If not, the result is *unknown* or *n/a*, with the reason.
2. **start**: every instance of the service is started on one fresh data folder (a small tmpfs
   when a fault needs a full disk) and must answer its health URL; a service that does not start
   makes the scenario *unknown* with the end of its log.
3. **main**: the faults are armed on the instances (strace attached), then the clients
   (:mod:`harness.client.http_clients`, in their own processes) submit CSV files and poll jobs
   while the faults run their schedules. An instance the nemesis killed is started again after
   ``restart_delay_ms`` (``restart = true``), keeping its port.
4. **restart**: every instance is stopped (SIGTERM) and started again, as a deploy does; what
   the criteria call "after the last restart" starts here.
5. **final**: every accepted job is polled until it ends or ``final_bound`` passes, and every
   done job downloaded twice. For the built-in service the harness also records, per job, the
   download it expects (computed from the upload), so a result can be judged byte for byte.

The runner is the run as faults see it (:class:`harness.nemesis.fault.FaultRun`): ``root`` is
the data folder, ``targets`` the instances, ``setup["paths"]`` the job files the profile names.
No instance, client, tracer or mount outlives the run, even on Ctrl-C.
"""

from __future__ import annotations

import dataclasses
import os
import random
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from harness.client.http_clients import JobBoard, final_reads
from harness.history.log import OK, HistoryLog, merge_histories, write_history
from harness.nemesis.fault import FaultTarget, NotRunnable, TimedAction, is_target
from harness.nemesis.syscalls import can_inject
from harness.runner.scenario_run import Progress, RunOutcome
from harness.scenario.loader import Scenario
from harness.service.clients import ClientProcesses
from harness.service.expected import record_expected
from harness.service.instances import Fleet, ServiceInstance, ServiceStartError
from harness.service.job_files import JobFiles
from harness.service.powerloss import ServicePowerLossError, explore_service_power_loss
from harness.service.spec import ServiceSpec
from harness.service.store_reads import time_store_reads

POLL = 0.01  # seconds between two looks at the instances and the fault schedule


class ServiceRunner:
    """Runs one service scenario; see the module docstring for the phases."""

    def __init__(
        self,
        scenario: Scenario,
        service: ServiceSpec,
        run_dir: Path,
        seed: int,
        progress: Progress | None = None,
    ) -> None:
        assert scenario.service is not None, "a service scenario has a [service] table"
        self.scenario = scenario
        self.options = scenario.service
        # The scenario's own environment for the instances (a shorter lease, say) joins the spec's.
        self.service = dataclasses.replace(service, env={**service.env, **self.options.env})
        self.run_dir = run_dir
        self.seed = seed
        self.progress: Progress = progress or (lambda message: None)
        self.rng = random.Random(f"{seed}/{scenario.name}/nemesis")
        self.epoch = time.monotonic()
        self.histories = run_dir / "processes"
        self.root = run_dir / "data"  # FaultRun.root: what a full disk fills, damage hits
        self.notes: list[str] = []
        self.setup: dict[str, Any] = {}
        self.nemesis: HistoryLog | None = None
        self.log: HistoryLog | None = None
        self.fleet: Fleet | None = None
        self.clients: ClientProcesses | None = None
        self.board = JobBoard(self.histories)
        self._kill_reasons: dict[tuple[str, int], str] = {}  # (instance, incarnation) -> why
        self._exits_seen: dict[str, int] = {}  # instance -> incarnation whose exit is recorded
        self._restarts: list[threading.Thread] = []
        self._main_over = threading.Event()

    # ------------------------------------------------------------ the run

    def run(self) -> RunOutcome:
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.histories.mkdir(parents=True, exist_ok=True)
        problem = self._not_runnable()
        if problem:
            return self._not_run(problem)
        self.nemesis = HistoryLog(self.histories / "nemesis.jsonl", "nemesis", self.epoch)
        self.log = HistoryLog(self.histories / "runner.jsonl", "runner", self.epoch)
        started = time.monotonic()
        try:
            self._record_scenario()
            for fault in self.scenario.faults:
                fault.prepare(self)
            self.root.mkdir(parents=True, exist_ok=True)
            self.setup = {
                "paths": JobFiles(self.root, self.service.profile.job_files, self._accepted)
            }
            problem = self._check_service()
            if problem:
                return self._not_run(problem)
            if self.options.power_loss_states:
                return self._power_loss(started)
            if not self._start_fleet():
                return self._finish(started, unknown=True)
            self._main_phase()
            if self._restart_phase():
                self._final_phase()
            return self._finish(started)
        finally:
            self._cleanup()

    def _power_loss(self, started: float) -> RunOutcome:
        """Power loss through the API instead of the phases (see harness.service.powerloss)."""
        assert self.log is not None
        self.progress("power loss: tracing one job")
        self._event("phase", {"phase": "powerloss"})
        try:
            notes = explore_service_power_loss(
                self.service,
                self.run_dir,
                self.log,
                self.histories,
                self.epoch,
                self.seed,
                max_states=self.options.power_loss_states,
            )
        except ServicePowerLossError as error:
            self._unknown(f"power loss through the API could not be explored: {error}")
            return self._finish(started, unknown=True)
        self.notes.extend(notes)
        return self._finish(started)

    def _not_runnable(self) -> NotRunnable | None:
        """Why this machine or this service cannot run the scenario, or None."""
        if self.options.power_loss_states:
            reason = can_inject()
            if reason:
                return NotRunnable(f"power loss needs strace: {reason}", unknown=True)
        for fault in self.scenario.faults:
            reason = fault.unavailable_reason()
            if reason:
                return NotRunnable(reason, unknown=True)
        most = self.service.profile.max_instances
        if self.options.instances > most:
            return NotRunnable(
                f"it runs {self.options.instances} instances and the service's profile says it "
                f"runs as at most {most} (max_instances)"
            )
        store = self.service.builtin
        if store is not None and store not in self.options.stores:
            return NotRunnable(f"this scenario does not apply to the built-in {store} store")
        return None

    def _check_service(self) -> NotRunnable | None:
        for fault in self.scenario.faults:
            problem = fault.check_store(self.setup)
            if problem:
                if not self.service.profile.job_files:
                    reason = (
                        "the service's API profile names no job files ([files] main = ...): "
                        "there is no per-job file to damage"
                    )
                    return NotRunnable(reason)
                return problem
        return None

    def _not_run(self, problem: NotRunnable) -> RunOutcome:
        return RunOutcome(
            self.scenario,
            self.run_dir,
            [],
            applicable=False,
            reason=problem.reason,
            unknown=problem.unknown,
        )

    def _record_scenario(self) -> None:
        assert self.log is not None
        profile = self.service.profile
        self.log.event(
            "scenario",
            None,
            {
                "name": self.scenario.name,
                "kind": self.scenario.kind,
                "service": self.service.label,
                "instances": self.options.instances,
                "seed": self.seed,
            },
        )
        self.log.event(
            "profile",
            None,
            {
                "name": profile.name,
                "outage_codes": list(profile.outage_codes),
                "accepted_codes": list(profile.accepted_codes),
                "rescue_bound": self.options.final_bound,
                "pollers": sum(g.count for g in self.scenario.processes if g.role == "poller"),
            },
        )

    def _start_fleet(self) -> bool:
        self.progress("starting the service")
        self.fleet = Fleet(
            self.service,
            self.options.instances,
            data=self.root,
            run=secrets.token_hex(4),
            logs=self.run_dir / "logs",
            hosts=self.options.hosts,
        )
        # The client processes start now (the ports are chosen), so that their interpreters
        # and imports overlap the service's start-up; they wait for the runner's go.
        self.clients = ClientProcesses(self.scenario, self.service, self.fleet, self.histories)
        self.clients.write_plans(self.epoch, self.seed, self.scenario.workload.duration)
        self.clients.start()
        try:
            self.fleet.start_all()
        except ServiceStartError as error:
            self._unknown(f"the service did not start: {error}")
            self.clients.stop()
            return False
        for instance in self.fleet.instances:
            self._record_start(instance)
        return True

    # ------------------------------------------------------------ main phase

    def _main_phase(self) -> None:
        assert self.fleet is not None and self.log is not None
        duration = self.scenario.workload.duration
        for fault in self.scenario.faults:
            for instance in self.fleet.instances:
                fault.arm(self, instance)
        actions = sorted(
            (a for f in self.scenario.faults for a in f.schedule(self, duration, self.rng)),
            key=lambda action: action.at,
        )
        clients = self.clients
        assert clients is not None
        for problem in clients.wait_ready():
            self.note(problem)
        self.progress("running")
        self.log.event("phase", None, {"phase": "main", "duration": duration})
        for fault in self.scenario.faults:
            fault.start(self)
        clients.go()
        left = self._supervise(actions, time.monotonic(), duration)
        for problem in clients.stop():
            self.note(problem)
        self._main_over.set()
        for action in left:
            if action.always:
                action.action()  # always undo a fault (free the disk, continue a paused one)
        for fault in self.scenario.faults:
            fault.release(self)
        for thread in self._restarts:
            thread.join(timeout=self.service.startup_timeout + 5)
        self._watch()

    def _supervise(
        self, actions: list[TimedAction], go_time: float, duration: float
    ) -> list[TimedAction]:
        """Run the actions on time and watch the instances until the phase ends."""
        end = go_time + duration
        while time.monotonic() < end:
            now = time.monotonic()
            while actions and actions[0].at <= now - go_time:
                actions.pop(0).action()
            self._watch()
            time.sleep(POLL)
        return actions

    def _watch(self) -> None:
        """Record each instance that ended; restart it when the scenario says so."""
        assert self.fleet is not None
        for instance in self.fleet.instances:
            code = instance.poll_exit()
            if code is None or self._exits_seen.get(instance.name) == instance.incarnation:
                continue
            self._exits_seen[instance.name] = instance.incarnation
            why = self._kill_reasons.get((instance.name, instance.incarnation))
            why = why or instance.explain_exit()
            self._event(
                "instance-exit",
                {
                    "instance": instance.name,
                    "incarnation": instance.incarnation,
                    "code": code,
                    "why": why,
                },
            )
            if "nemesis" not in why and "by the harness" not in why:
                self.note(f"{instance.name} ended by itself during the run: {why}")
            if self.options.restart and not self._main_over.is_set():
                thread = threading.Thread(target=self._restart_later, args=(instance,), daemon=True)
                thread.start()
                self._restarts.append(thread)

    def _restart_later(self, instance: ServiceInstance) -> None:
        if self._main_over.wait(self.options.restart_delay):
            return  # the restart phase starts every instance anyway
        try:
            instance.start()
        except ServiceStartError as error:
            if (instance.name, instance.incarnation) in self._kill_reasons:
                return  # killed again while it started: the watch records it and restarts it
            self.note(f"{instance.name} did not start again after it was killed: {error}")
            return
        self._record_start(instance)

    # ------------------------------------------------------------ restart and final reads

    def _restart_phase(self) -> bool:
        """Stop every instance and start it again; False (and unknown) if one does not start."""
        assert self.fleet is not None
        self.progress("restart")
        self._event("phase", {"phase": "restart"})
        for instance in self.fleet.alive():
            key = (instance.name, instance.incarnation)
            self._kill_reasons[key] = "stopped by the harness (SIGTERM) for the restart"
        self.fleet.terminate_all()
        self._watch()
        self._main_over.set()
        try:
            self.fleet.start_all()
        except ServiceStartError as error:
            self._unknown(f"the service did not start again for the final reads: {error}")
            return False
        for instance in self.fleet.instances:
            self._record_start(instance)
        return True

    def _final_phase(self) -> None:
        assert self.fleet is not None
        self.progress("final reads")
        bound = self.options.final_bound
        self._event("phase", {"phase": "final", "bound": bound})
        accepted = self._accepted()
        if self.service.builtin is not None:
            assert self.log is not None
            record_expected(self.log, self.histories, self.run_dir / "uploads")
        log = HistoryLog(self.histories / "final.jsonl", "final", self.epoch)
        try:
            urls = {instance.name: instance.base_url for instance in self.fleet.instances}
            final_reads(self.service.profile, urls, accepted, log, bound=bound)
        finally:
            log.close()
        if "http_latency" in self.scenario.checkers:
            figures = time_store_reads(self.service, self.root, self.fleet.run, accepted)
            if figures is not None:
                self._event("store-reads", figures)
        self._event("phase", {"phase": "done"})

    # ------------------------------------------------------------ the run, as faults see it

    def note(self, text: str) -> None:
        self.notes.append(text)

    def targets(self, target: str) -> list[FaultTarget]:
        instances = self.fleet.instances if self.fleet else []
        return [instance for instance in instances if is_target(instance, target)]

    def kill(self, process: FaultTarget, how: str) -> None:
        assert isinstance(process, ServiceInstance)
        self._kill_reasons[(process.name, process.incarnation)] = f"killed by nemesis: {how}"
        process.kill()

    # ------------------------------------------------------------ helpers

    def _accepted(self) -> list[str]:
        return self.board.accepted()

    def _record_start(self, instance: ServiceInstance) -> None:
        self._event(
            "instance-start",
            {"instance": instance.name, "incarnation": instance.incarnation, "pid": instance.pid},
        )

    def _event(self, f: str, value: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.event(f, None, value, kind=OK)

    def _unknown(self, reason: str) -> None:
        self.notes.append(reason)
        if self.log is not None:
            self.log.event("unknown", None, {"reason": reason})

    def _finish(self, started: float, *, unknown: bool = False) -> RunOutcome:
        for log in (self.nemesis, self.log):
            if log is not None:
                log.close()
        records = merge_histories(sorted(self.histories.glob("*.jsonl")))
        write_history(self.run_dir / "history.jsonl", records)
        return RunOutcome(
            self.scenario,
            self.run_dir,
            records,
            notes=self.notes,
            duration=time.monotonic() - started,
            unknown=unknown,
            reason=self.notes[-1] if unknown and self.notes else "",
        )

    def _cleanup(self) -> None:
        """No instance, tracer, mount or stopped process outlives the run, even on Ctrl-C."""
        self._main_over.set()
        if self.clients is not None:
            self.clients.stop()  # at once if they already ended; else they stop and are reaped
        if self.fleet is not None:
            self.fleet.kill_all()
        for fault in self.scenario.faults:
            try:
                fault.cleanup(self)
            except Exception as error:  # one fault's cleanup must not skip the others'
                self.note(
                    f"cleanup of a {fault.kind} fault failed: {type(error).__name__}: {error}"
                )
        if self.fleet is not None:
            self.fleet.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)
        if os.path.ismount(self.root):
            self.note(f"{self.root} is still mounted after the run")
