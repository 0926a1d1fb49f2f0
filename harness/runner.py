"""Run one scenario against one store: spawn the processes, inject the faults, collect the history.

Phases of :func:`run_scenario`, each recorded in the history:

1. **preflight**: can this scenario run here and on this store? (strace for syscall faults,
   root for a tmpfs, ``update_job`` for updaters, known job files for damage). If not, the result
   is *not applicable*, with the reason.
2. **setup**: one process opens the store, saves version 0 of every job, and reports the store's
   optional methods and where each job's files are.
3. **main**: every process of the scenario starts, opens the store itself and says it is ready;
   syscall faults are armed (strace attached) before anyone moves; then *go*. The nemesis runs
   its schedule (random kills, damage, filling the disk) while the runner watches every process:
   a process killed by a fault may be respawned as a new incarnation; one that overstays its
   deadline is killed as hung and its operation recorded as *info*.
4. **restart**: a fresh process calls ``recover()``, as an application does at start-up.
5. **final**: a fresh process reads every job once in a quiet store.
6. **inventory**: the files left in the store's directory (for the no-litter check).

The per-process history files are then merged into ``history.jsonl`` in the run folder. No
process, tracer or mount outlives the run, even on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import multiprocess

from harness import client
from harness.client import ProcessConfig
from harness.history import (
    INFO,
    INVOKE,
    OK,
    HistoryLog,
    ProcessEnd,
    Record,
    merge_histories,
    read_records,
    write_history,
)
from harness.job_ids import scenario_job_ids
from harness.nemesis import damage, disk
from harness.nemesis.syscalls import AttachedInjector, Injection, InjectionUnavailable, can_inject
from harness.outcomes import describe_exit
from harness.scenario import Fault, Scenario
from harness.spec import parse_store_spec

START_TIMEOUT = 60.0  # seconds for a process to open the store and say it is ready
OP_TIMEOUT = 15.0  # seconds one store call may take (or overrun the phase) before it counts as hung
PATIENCE = 2.0  # seconds a call may take before the progress line names it
SIDE_PHASE_TIMEOUT = 60.0  # setup, restart and final processes
LATENCY_TIMEOUT = 120.0

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


@dataclass
class _Running:
    config: ProcessConfig
    process: Any
    ready: Any
    finished: Any  # set by the process when its role returned: an exit without it is a death
    busy_since: Any  # monotonic time the store call in flight began, 0.0 when idle
    group_restart: bool = False
    incarnation: int = 0
    kill_reason: str | None = None
    told: int = 0  # whole seconds of the call in flight already named on the progress line
    injectors: list[tuple[AttachedInjector, Fault]] = field(default_factory=list)


class ScenarioRunner:
    """Runs one scenario; see the module docstring for the phases."""

    def __init__(
        self,
        scenario: Scenario,
        spec: str,
        run_dir: Path,
        seed: int,
        progress: Progress | None = None,
    ) -> None:
        self.scenario = scenario
        self.spec = spec
        self.run_dir = run_dir
        self.seed = seed
        self.rng = random.Random(f"{seed}/{scenario.name}/nemesis")
        self.progress = progress or (lambda message: None)
        self.context = multiprocess.get_context("fork")
        self.go = self.context.Event()  # set once every main-phase process is ready and armed
        self.epoch = time.monotonic()
        self.histories = run_dir / "processes"
        self.root = run_dir / "store"
        self.ends: dict[str, ProcessEnd] = {}
        self.running: list[_Running] = []
        self.notes: list[str] = []
        self.mounted = False
        self.setup: dict[str, Any] = {}
        self.nemesis: HistoryLog | None = None

    # ------------------------------------------------------------ the run

    def run(self) -> RunOutcome:
        # A folder reused from an earlier run (the same --out) would mix its histories into
        # this one: the process files are appended to.
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.histories.mkdir(exist_ok=True)
        reason = self._preflight()
        if reason:  # the machine cannot run it: the harness did not see, so not a pass
            return RunOutcome(
                self.scenario, self.run_dir, [], applicable=False, reason=reason, unknown=True
            )
        self.nemesis = HistoryLog(self.histories / "nemesis.jsonl", "nemesis", self.epoch)
        started = time.monotonic()
        try:
            self._record_scenario()
            self._prepare_root()
            if not self._run_setup():
                return self._finish(started)
            reason = self._check_capabilities()
            if reason:
                return RunOutcome(
                    self.scenario,
                    self.run_dir,
                    [],
                    applicable=False,
                    reason=reason,
                    setup=self.setup,
                )
            if self.scenario.kind == "latency":
                self._run_latency()
                return self._finish(started)
            if self.scenario.kind == "powerloss":
                self._run_powerloss()
                return self._finish(started)
            self._run_main()
            self._release_faults()
            if self.scenario.recover_after:
                self._run_side("restart", "restart")
            self._run_side("final", "final")
            self._record_inventory()
            return self._finish(started)
        finally:
            self._cleanup()

    def _unknown(self, reason: str) -> None:
        """The scenario cannot be judged (its setup failed): say so in the history and the notes."""
        assert self.nemesis is not None
        self.notes.append(reason)
        self.nemesis.event("unknown", None, {"reason": reason})

    def _preflight(self) -> str | None:
        scenario = self.scenario
        if scenario.kind == "powerloss" or any(  # power loss traces the operation with strace
            f.kind in ("diskfault", "slowdisk") or (f.kind == "kill" and f.at == "syscall")
            for f in scenario.faults
        ):
            reason = can_inject()
            if reason:
                return f"needs syscall fault injection: {reason}"
        if scenario.faults_of("fullfs"):
            reason = disk.can_mount()
            if reason:
                return f"needs a real small filesystem: {reason}"
        return None

    def _check_capabilities(self) -> str | None:
        capabilities = self.setup.get("capabilities", {})
        medium = self.setup.get("medium", "file")
        if self.scenario.kind == "powerloss" and medium != "file":
            # The crash states are computed from the files under the store's root; a store whose
            # data lives on a server has none, and a cut of this disk is not what loses its
            # writes (the server's own durability is).
            return (
                f"the store keeps its data in {medium}, not in files under its folder: a power "
                "cut of this machine's disk has nothing of it to undo"
            )
        roles = self.scenario.roles()
        if "updater" in roles and not capabilities.get("update_job"):
            return "the store has no update_job(job_id, changes), which concurrent updates need"
        if self.scenario.faults_of("damage") and not self.setup.get("paths"):
            return (
                "the store does not say where it keeps job files (no paths_for(job_id), and no "
                "<root>/<job_id>.json files): there is no per-job file to damage"
            )
        return None

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
                "jobs": list(self._all_jobs()),
                "fields": list(self._updater_fields()),
                "shared_jobs": scenario.workload.shared_jobs,
                "recover_after": scenario.recover_after,
                "spec": self.spec,
                "seed": self.seed,
            },
        )

    def _prepare_root(self) -> None:
        fullfs = self.scenario.faults_of("fullfs")
        if fullfs:
            disk.mount_tmpfs(self.root, fullfs[0].size_kb)
            self.mounted = True
        else:
            self.root.mkdir(parents=True, exist_ok=True)

    def _run_setup(self) -> bool:
        self.progress("setup")
        jobs = () if "worker" in self.scenario.roles() else self._all_jobs()
        report = self.run_dir / "setup.json"
        config = self._config("setup", "setup", 0, jobs=jobs, setup_report=os.fspath(report))
        ended = self._run_to_end(config, SIDE_PHASE_TIMEOUT)
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
                "files": [f["path"] for f in self._list_files()],
            },
            kind=OK,
        )
        return True

    def _run_main(self) -> None:
        assert self.nemesis is not None
        scenario = self.scenario
        duration = scenario.workload.duration
        self.progress("starting processes")
        for group in scenario.processes:
            for index in range(group.count):
                self._spawn(self._main_config(group.role, index), group.restart)
        for running in self.running:
            if not running.ready.wait(START_TIMEOUT):
                self.notes.append(
                    f"{running.config.name} did not open the store within {START_TIMEOUT:.0f} s"
                )
        self._arm_syscall_faults()
        events = self._timed_events(duration)
        self.progress("running")
        go_time = time.monotonic()
        self.nemesis.event("phase", None, {"phase": "main", "duration": duration})
        for fault in scenario.faults_of("fullfs"):
            # The filesystem is small: it can be full at any moment, filled by the nemesis or by
            # the store's own files (a growing SQLite WAL), so the whole phase is a fault window.
            self.nemesis.invoke("diskfull", None, {"size_kb": fault.size_kb})
            self.nemesis.complete(("diskfull", None), OK, {"size_kb": fault.size_kb})
        self.go.set()
        hard_stop = go_time + duration + OP_TIMEOUT
        while True:
            now = time.monotonic()
            while events and events[0][0] <= now - go_time:
                _, action = events.pop(0)
                action()
            self._watch_processes(go_time + duration)
            alive = [r for r in self.running if r.process.is_alive()]
            if not alive:
                break
            if now > hard_stop:
                for running in alive:
                    self._kill(
                        running,
                        f"timed out: still running {OP_TIMEOUT:.0f} s after the phase ended (hung store?)",
                    )
                self._watch_processes(go_time + duration)
                break
            time.sleep(0.01)
        for _, action in events:
            if getattr(action, "is_release", False):
                action()  # always free a filled disk, even if everyone finished early
        if scenario.faults_of("fullfs"):
            self.nemesis.event("diskfull-end", None, {}, kind=OK)
        self.nemesis.event("phase", None, {"phase": "main-end"})

    def _run_latency(self) -> None:
        """One process measures the store against the floors (see harness.timing)."""
        assert self.nemesis is not None
        self.progress("measuring")
        self.nemesis.event("phase", None, {"phase": "latency"})
        workload = self.scenario.workload
        extra = {"samples": workload.samples, **self.scenario.options}
        config = self._config("timer-0", "timer", 0, jobs=(), extra=extra, duration=LATENCY_TIMEOUT)
        self._run_to_end(config, LATENCY_TIMEOUT + 30)

    def _run_powerloss(self) -> None:
        """Explore the on-disk states a power cut may leave (see harness.nemesis.powerloss)."""
        from harness.nemesis.powerloss import explore_power_loss

        assert self.nemesis is not None
        self.progress("exploring power-loss states")
        self.nemesis.event("phase", None, {"phase": "powerloss"})
        self.notes.extend(
            explore_power_loss(
                self.scenario,
                self.spec,
                self.root,
                self.run_dir,
                self.seed,
                self.histories,
                self.epoch,
            )
        )

    def _run_side(self, role: str, name: str) -> None:
        assert self.nemesis is not None
        self.progress(role)
        self.nemesis.event("phase", None, {"phase": role})
        config = self._config(name, role, 0, jobs=self._all_jobs())
        self._run_to_end(config, SIDE_PHASE_TIMEOUT)

    def _finish(self, started: float) -> RunOutcome:
        if self.nemesis is not None:
            self.nemesis.close()
        records = merge_histories(sorted(self.histories.glob("*.jsonl")), self.ends)
        write_history(self.run_dir / "history.jsonl", records)
        return RunOutcome(
            self.scenario,
            self.run_dir,
            records,
            notes=self.notes,
            setup=self.setup,
            duration=time.monotonic() - started,
        )

    # ------------------------------------------------------------ processes

    def _config(self, name: str, role: str, index: int, **overrides: Any) -> ProcessConfig:
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
            "all_jobs": self._all_jobs(),
            "payload_bytes": workload.payload_bytes,
            "payload_sizes": workload.payload_sizes,
            "shared_jobs": workload.shared_jobs,
            "duration": SIDE_PHASE_TIMEOUT,
            "fields": self._updater_fields(),
        }
        values.update(overrides)
        return ProcessConfig(**values)

    def _main_config(
        self, role: str, index: int, incarnation: int = 0, duration: float | None = None
    ) -> ProcessConfig:
        scenario = self.scenario
        group = next(g for g in scenario.processes if g.role == role)
        name = f"{role}-{index}" + (f".{incarnation}" if incarnation else "")
        return self._config(
            name,
            role,
            index,
            jobs=self._jobs_of(role, index),
            duration=scenario.workload.duration if duration is None else duration,
            max_ops=group.ops,
            steps=group.steps,
            think=group.think_ms / 1000,
            recover_first=incarnation > 0
            and bool(scenario.options.get("recover_on_restart", False)),
        )

    def _spawn(
        self, config: ProcessConfig, restart: bool = False, incarnation: int = 0, go: Any = None
    ) -> _Running:
        ready = self.context.Event()
        finished = self.context.Event()
        busy_since = self.context.Value("d", 0.0, lock=False)
        process = self.context.Process(
            target=client.run_process,
            args=(config, ready, self.go if go is None else go, finished, busy_since),
            name=config.name,
            daemon=True,
        )
        process.start()
        running = _Running(config, process, ready, finished, busy_since, restart, incarnation)
        self.running.append(running)
        return running

    def _run_to_end(self, config: ProcessConfig, timeout: float) -> str:
        """Run one side process (setup, restart, final) to its end; kill it if a call hangs."""
        go = self.context.Event()
        go.set()
        running = self._spawn(config, go=go)
        self.running.remove(running)  # not a main-phase process: no respawn, no nemesis target
        deadline = time.monotonic() + timeout
        while running.process.is_alive():
            running.process.join(0.05)
            hung = self._hung_call(running)
            if hung or time.monotonic() > deadline:
                self._kill(running, hung or f"timed out after {timeout:.0f} s (hung store?)")
        ended = self._process_ended(running)
        return "ok" if ended == "exited" else ended

    def _hung_call(self, running: _Running) -> str | None:
        """Why ``running`` counts as hung (a store call in flight too long), or None.

        Also tells the progress line which call it is waiting for, so a hang never looks like a
        frozen screen.
        """
        since = running.busy_since.value
        if not since:
            return None
        waited = time.monotonic() - since
        if waited >= PATIENCE and int(waited) > running.told:
            running.told = int(waited)
            call = self._call_in_flight(running)
            self.progress(f"waiting {running.told} s for {running.config.name}: {call}")
        if waited < OP_TIMEOUT:
            return None
        call = self._call_in_flight(running)
        return f"timed out: {call} did not return within {OP_TIMEOUT:.0f} s (hung store?)"

    def _call_in_flight(self, running: _Running) -> str:
        last = _last_invoke(Path(running.config.history_path))
        if last is None:
            return "a store call"
        return f"{last.f}({last.job})" if last.job else f"{last.f}()"

    def _process_ended(self, running: _Running) -> str:
        """Record how a finished process ended; a process that died by itself is a crash event.

        A death is an exit the harness did not cause that came before the process's work was
        done: any signal or exit code, 0 included (``os._exit(0)``, ``sys.exit()`` in a store
        call). The operation in flight, if any, is kept as evidence: a death during a read
        hurts C2, during a write C6, during ``recover()`` C1 and C3.
        """
        process = running.process
        process.join()
        reason = running.kill_reason
        if reason is None and process.exitcode == -signal.SIGKILL:
            for injector, fault in running.injectors:
                if fault.kind == "kill":
                    calls = injector.injected_calls()
                    reason = f"killed by nemesis: {injector.injection.describe()} (strace)"
                    self._record_kill(running, injector.injection.describe(), calls)
        if reason is None and (process.exitcode != 0 or not running.finished.is_set()):
            reason = f"the process died by itself: {describe_exit(process.exitcode)}"
            if process.exitcode == 0:
                reason += " before its work was done"
            last = _last_invoke(Path(running.config.history_path))
            assert self.nemesis is not None
            self.nemesis.event(
                "crash",
                None,
                {
                    "process": running.config.name,
                    "role": running.config.role,
                    "exit": process.exitcode,
                    "in_flight": {"f": last.f, "job": last.job} if last else None,
                },
            )
        for injector, _ in running.injectors:
            injector.detach()
        running.injectors.clear()
        self.ends[running.config.name] = ProcessEnd(self._now(), reason or "exited")
        return reason or "exited"

    def _watch_processes(self, phase_end: float) -> None:
        for running in list(self.running):
            process = running.process
            if running.config.name in self.ends:
                continue
            if process.is_alive():
                hung = self._hung_call(running)
                if not hung:
                    continue
                self._kill(running, hung)  # joins it: its end is recorded below, not respawned
            reason = self._process_ended(running)
            killed = reason.startswith("killed by nemesis")  # not a hung one: that is a finding
            if killed and running.group_restart and time.monotonic() < phase_end - 0.1:
                self._respawn(running, phase_end - time.monotonic())

    def _respawn(self, running: _Running, remaining: float) -> None:
        incarnation = running.incarnation + 1
        config = self._main_config(
            running.config.role, running.config.index, incarnation, remaining
        )
        fresh = self._spawn(config, running.group_restart, incarnation)
        fresh.ready.wait(START_TIMEOUT)

    def _kill(self, running: _Running, reason: str) -> None:
        if running.process.is_alive():
            running.kill_reason = reason
            with contextlib.suppress(ProcessLookupError):
                os.kill(running.process.pid, signal.SIGKILL)
            running.process.join(5)

    # ------------------------------------------------------------ faults

    def _arm_syscall_faults(self) -> None:
        assert self.nemesis is not None
        for fault in self.scenario.faults:
            if fault.kind == "kill" and fault.at == "syscall":
                injection = Injection(fault.syscall, "signal=KILL", str(fault.nth))
            elif fault.kind == "diskfault":
                when = f"{fault.nth}+{fault.every}" if fault.every else str(fault.nth)
                injection = Injection(fault.syscall, f"error={fault.error}", when)
            elif fault.kind == "slowdisk":
                injection = Injection(
                    fault.syscall, f"delay_enter={int(fault.delay_ms * 1000)}", "1+"
                )
            else:
                continue
            for running in self._targets(fault.target):
                log_path = self.run_dir / f"strace-{running.config.name}-{fault.kind}.log"
                try:
                    injector = AttachedInjector(running.process.pid, injection, log_path)
                except InjectionUnavailable as error:
                    self.notes.append(f"{fault.kind} on {running.config.name} not armed: {error}")
                    continue
                running.injectors.append((injector, fault))
                if fault.kind in ("diskfault", "slowdisk"):
                    self.nemesis.invoke(
                        fault.kind,
                        None,
                        {
                            "process": running.config.name,
                            "fault": injection.describe(),
                            "error": fault.error if fault.kind == "diskfault" else None,
                        },
                    )
                    self.nemesis.complete(
                        (fault.kind, None), OK, {"process": running.config.name, "armed": True}
                    )

    def _release_faults(self) -> None:
        assert self.nemesis is not None
        for running in self.running:
            for injector, fault in running.injectors:
                injector.detach()
                if not injector.injected_calls():
                    # A fault that never fired proves nothing: say so instead of passing quietly.
                    self.notes.append(
                        f"{running.config.name}: {injector.injection.describe()} never fired "
                        "(the process made fewer such calls before it stopped)"
                    )
                if fault.kind in ("diskfault", "slowdisk"):
                    self.nemesis.event(
                        f"{fault.kind}-end",
                        None,
                        {"process": running.config.name, "injected": injector.injected_calls()[:5]},
                        kind=OK,
                    )
            running.injectors.clear()
        if self.mounted:
            disk.free(self.root)

    def _timed_events(self, duration: float) -> list[tuple[float, Callable[[], None]]]:
        events: list[tuple[float, Callable[[], None]]] = []
        for fault in self.scenario.faults:
            if fault.kind == "kill" and fault.at == "random":
                for _ in range(fault.times):
                    at = self.rng.uniform(0.15, 0.85) * duration
                    events.append((at, lambda fault=fault: self._random_kill(fault)))
            elif fault.kind == "damage":
                for number in range(fault.times):
                    at = (number + self.rng.uniform(0.3, 0.7)) / fault.times * duration * 0.8
                    how = fault.how[number % len(fault.how)]
                    events.append((at, lambda fault=fault, how=how: self._damage(fault, how)))
            elif fault.kind == "fullfs":
                for number in range(fault.times):
                    window = duration / fault.times
                    fill_at = number * window + 0.2 * window
                    release = _Release(self._free_disk)
                    events.append((fill_at, self._fill_disk))
                    events.append((fill_at + 0.5 * window, release))
        events.sort(key=lambda event: event[0])
        return events

    def _random_kill(self, fault: Fault) -> None:
        candidates = [r for r in self._targets(fault.target) if r.process.is_alive()]
        if not candidates:
            return
        victim = self.rng.choice(candidates)
        self._record_kill(victim, "SIGKILL at a random time", [])
        self._kill(victim, "killed by nemesis: SIGKILL at a random time")

    def _record_kill(self, victim: _Running, how: str, evidence: list[str]) -> None:
        assert self.nemesis is not None
        self.nemesis.event(
            "kill",
            None,
            {
                "process": victim.config.name,
                "pid": victim.process.pid,
                "how": how,
                "evidence": evidence[:3],
            },
            kind=OK,
        )

    def _damage(self, fault: Fault, how: str) -> None:
        assert self.nemesis is not None
        paths = self.setup.get("paths", {})
        if not paths:
            return
        job = self.rng.choice(sorted(paths))
        files = ["main", "backup"] if fault.file == "both" else [fault.file]
        done: dict[str, Any] = {}
        token = self.nemesis.invoke("damage", job, {"file": fault.file, "how": how})
        for which in files:
            path = paths[job].get(which)
            if not path:
                done[which] = {"skipped": "the store has no such file"}
                continue
            try:
                done[which] = damage.damage_file(path, how, self.rng)
            except FileNotFoundError:
                done[which] = {"skipped": "file did not exist at that moment"}
            except damage.DamageSkipped as skipped:
                done[which] = {"skipped": str(skipped)}
            except OSError as error:
                done[which] = {"skipped": f"{type(error).__name__}: {error}"}
        applied = [which for which in files if "skipped" not in done[which]]
        self.nemesis.complete(
            token, OK, {"file": fault.file, "how": how, "applied": applied, "detail": done}
        )

    def _fill_disk(self) -> None:
        assert self.nemesis is not None
        token = self.nemesis.invoke("fill-disk", None, None)
        taken = disk.fill(self.root)
        self.nemesis.complete(token, OK, {"taken": taken})
        if taken == 0:
            self.notes.append(
                "the nemesis found the small filesystem already full (the store filled it)"
            )

    def _free_disk(self) -> None:
        assert self.nemesis is not None
        disk.free(self.root)
        self.nemesis.event("free-disk", None, {}, kind=OK)

    def _targets(self, target: str) -> list[_Running]:
        if "-" in target:
            return [r for r in self.running if r.config.name == target]
        return [r for r in self.running if r.config.role == target]

    # ------------------------------------------------------------ jobs

    def _all_jobs(self) -> tuple[str, ...]:
        return scenario_job_ids(self.scenario, self.seed)

    def _jobs_of(self, role: str, index: int) -> tuple[str, ...]:
        jobs = self._all_jobs()
        if role == "worker":  # round-robin, as for writers: worker i runs jobs i, i+n, i+2n...
            workers = sum(g.count for g in self.scenario.processes if g.role == "worker")
            return jobs[index::workers]
        if role == "writer" and not self.scenario.workload.shared_jobs:
            writers = sum(g.count for g in self.scenario.processes if g.role == "writer")
            return jobs[index::writers]
        return jobs

    def _updater_fields(self) -> tuple[str, ...]:
        updaters = sum(g.count for g in self.scenario.processes if g.role == "updater")
        return tuple(f"u{i}" for i in range(updaters))

    # ------------------------------------------------------------ end

    def _record_inventory(self) -> None:
        assert self.nemesis is not None
        self.nemesis.event("inventory", None, {"files": self._list_files()}, kind=OK)

    def _list_files(self) -> list[dict[str, Any]]:
        """Every file under the store's root (the nemesis's filler aside), with its size."""
        files = []
        for folder, _, names in os.walk(self.root):
            for name in names:
                path = Path(folder) / name
                if name == disk.FILLER_NAME:
                    continue
                try:
                    size = path.stat().st_size
                except OSError:
                    size = -1
                files.append({"path": path.relative_to(self.root).as_posix(), "size": size})
        return sorted(files, key=lambda f: f["path"])

    def _cleanup(self) -> None:
        for running in self.running:
            for injector, _ in running.injectors:
                injector.detach()
            if running.process.is_alive():
                os.kill(running.process.pid, signal.SIGKILL)
                running.process.join(5)
        if self.mounted:
            disk.unmount(self.root)
            self.mounted = False
        if self.nemesis is not None:
            self.nemesis.close()
        try:
            parse_store_spec(self.spec).cleanup(self.root)
        except Exception as error:  # cleanup must not hide the run's result
            self.notes.append(f"cleanup of the store failed: {type(error).__name__}: {error}")
        shutil.rmtree(self.root, ignore_errors=True)

    def _now(self) -> float:
        return time.monotonic() - self.epoch


def _last_invoke(path: Path) -> Record | None:
    """The operation a process had in flight: its last record, when that is an invoke."""
    try:
        records = read_records(path)
    except OSError:
        return None
    if records and records[-1].type == INVOKE:
        return records[-1]
    return None


class _Release:
    """A timed event that must run even when the phase ends early (freeing a filled disk)."""

    is_release = True

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action

    def __call__(self) -> None:
        self.action()


def run_scenario(
    scenario: Scenario, spec: str, run_dir: Path, seed: int, progress: Progress | None = None
) -> RunOutcome:
    """Run ``scenario`` against the store named by ``spec``; the history lands in ``run_dir``."""
    return ScenarioRunner(scenario, spec, run_dir, seed, progress).run()


__all__ = ["INFO", "RunOutcome", "ScenarioRunner", "run_scenario"]
