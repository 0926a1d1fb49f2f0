"""Process supervision: start a scenario's processes, watch them, tell a death from a kill.

Every store process of a run is a :class:`ProcessHandle`, kept by the :class:`Supervisor`, which

* starts it (``multiprocess``, forked) with its :class:`~harness.client.process.ProcessConfig`, the shared
  *go* event, a *finished* event the process sets when its role's work is done, and the shared
  clock of the store call it has in flight (``busy_since``);
* watches it: a call in flight longer than ``Timeouts.op`` gets the process killed as hung (its
  operation is closed as *info* with the reason), and from ``Timeouts.patience`` on the progress
  line names the call it is waiting for. Time a fault kept the process stopped (``SIGSTOP``) is
  not counted: a stopped process is neither hung nor dead;
* records how it ended: killed by the harness, killed by a fault armed on it (the fault's
  attachment says so), or **died by itself** (any signal or exit code, 0 included, before its
  work was done), which is a ``crash`` event in the history;
* starts a killed process of a ``restart = true`` group again as a new incarnation
  (``writer-0.1``) while the phase has time left.

Nothing here knows which faults exist: faults reach a process through the
:class:`~harness.nemesis.fault.FaultTarget` methods (``attach``, ``stop``, ``resume``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.client import process as client
from harness.client.process import ProcessConfig
from harness.history.log import INVOKE, HistoryLog, ProcessEnd, Record, read_records
from harness.history.outcomes import describe_exit
from harness.nemesis.fault import Attachment
from harness.runner.plan import ProcessPlan
from harness.runner.turns import TurnGiver


@dataclass(frozen=True)
class Timeouts:
    """Seconds the runner waits before it gives up on a process."""

    start: float = 60.0  # to open the store and say it is ready
    op: float = 15.0  # one store call (or an overrun of the phase) before it counts as hung
    patience: float = 2.0  # a call may take before the progress line names it
    side_phase: float = 60.0  # setup, restart and final processes
    latency: float = 120.0  # the latency scenario's timer


DEFAULT_TIMEOUTS = Timeouts()


@dataclass
class ProcessHandle:
    """One running store process, as the supervisor and the faults see it."""

    config: ProcessConfig
    process: Any  # a multiprocess.Process
    ready: Any  # set by the process once its store is open
    finished: Any  # set by the process when its role returned: an exit without it is a death
    busy_since: Any  # monotonic time the store call in flight began, 0.0 when idle
    group_restart: bool = False
    incarnation: int = 0
    kill_reason: str | None = None  # set when the harness killed it, and why
    killed_by_nemesis: bool = False  # a fault killed it (it may be restarted), not a hang
    told: int = 0  # whole seconds of the call in flight already named on the progress line
    attachments: list[Attachment] = field(default_factory=list)
    stops: list[list[float]] = field(default_factory=list)  # [since, until]; until 0.0: stopped

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def role(self) -> str:
        return self.config.role

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def is_alive(self) -> bool:
        return self.process.is_alive()

    @property
    def is_stopped(self) -> bool:
        return bool(self.stops) and self.stops[-1][1] == 0.0

    def attach(self, attachment: Attachment) -> None:
        self.attachments.append(attachment)

    def stop(self) -> bool:
        """SIGSTOP the process; False if it is gone or already stopped."""
        if self.is_stopped or not self.is_alive():
            return False
        try:
            os.kill(self.process.pid, signal.SIGSTOP)
        except ProcessLookupError:
            return False
        self.stops.append([time.monotonic(), 0.0])
        return True

    def resume(self) -> float:
        """SIGCONT the process if it is stopped; the seconds it was stopped (0.0 if it was not)."""
        if not self.is_stopped:
            return 0.0
        # Only a process not yet reaped keeps its pid; one killed while stopped has nothing to
        # continue (and its pid may be another process's by now).
        if self.process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
        span = self.stops[-1]
        span[1] = time.monotonic()
        return span[1] - span[0]

    def stopped_seconds(self, since: float, now: float) -> float:
        """How long the process was stopped between ``since`` and ``now`` (monotonic)."""
        total = 0.0
        for start, end in self.stops:
            overlap = min(end or now, now) - max(start, since)
            total += max(0.0, overlap)
        return total


class Supervisor:
    """Starts, watches and ends the processes of one run; see the module docstring."""

    def __init__(
        self,
        context: Any,
        plan: ProcessPlan,
        timeouts: Timeouts,
        progress: Callable[[str], None],
        note: Callable[[str], None],
        epoch: float,
    ) -> None:
        self.context = context
        self.plan = plan
        self.timeouts = timeouts
        self.progress = progress
        self.note = note
        self.epoch = epoch
        self.go = context.Event()  # set once every main-phase process is ready and armed
        self.running: list[ProcessHandle] = []  # the main phase's processes, incarnations too
        self.spawned: list[ProcessHandle] = []  # every process of the run, side ones too
        self.ends: dict[str, ProcessEnd] = {}
        self.nemesis: HistoryLog | None = None  # where crash events go, once the run has one
        self.turns: TurnGiver | None = None  # deterministic mode: main-phase processes take turns

    def spawn(
        self, config: ProcessConfig, restart: bool = False, incarnation: int = 0, go: Any = None
    ) -> ProcessHandle:
        """Start a main-phase process (it waits for *go*, or for ``go`` when given)."""
        ready = self.context.Event()
        finished = self.context.Event()
        busy_since = self.context.Value("d", 0.0, lock=False)
        pipes = None
        if self.turns is not None and go is None:  # a main-phase process: it takes turns
            pipes = self.turns.pipes_for(config.name)
            config = dataclasses.replace(config, turns=pipes)
        process = self.context.Process(
            target=client.run_process,
            args=(config, ready, self.go if go is None else go, finished, busy_since),
            name=config.name,
            daemon=True,
        )
        process.start()
        if pipes is not None:
            TurnGiver.forked(pipes)
        handle = ProcessHandle(config, process, ready, finished, busy_since, restart, incarnation)
        self.running.append(handle)
        self.spawned.append(handle)
        return handle

    def alive(self) -> list[ProcessHandle]:
        return [handle for handle in self.running if handle.is_alive()]

    def unended(self) -> list[ProcessHandle]:
        """The main-phase processes whose end :meth:`watch` has not recorded yet: the alive,
        and any that died since the last look (their kill or crash is not in the history yet)."""
        return [handle for handle in self.running if handle.name not in self.ends]

    def run_to_end(self, config: ProcessConfig, timeout: float) -> str:
        """Run one side process (setup, restart, final) to its end; kill it if a call hangs."""
        go = self.context.Event()
        go.set()
        handle = self.spawn(config, go=go)
        self.running.remove(handle)  # not a main-phase process: no respawn, no nemesis target
        deadline = time.monotonic() + timeout
        while handle.process.is_alive():
            handle.process.join(0.05)
            hung = self.hung_call(handle)
            if hung or time.monotonic() > deadline:
                self.kill(handle, hung or f"timed out after {timeout:.0f} s (hung store?)")
        ended = self.process_ended(handle)
        return "ok" if ended == "exited" else ended

    def watch(self, phase_end: float) -> None:
        """One look at every main-phase process: end the hung, record the ended, respawn."""
        for handle in list(self.running):
            if handle.name in self.ends:
                continue
            if handle.is_alive():
                hung = self.hung_call(handle)
                if not hung:
                    continue
                self.kill(handle, hung)  # joins it: its end is recorded below, not respawned
            self.process_ended(handle)
            # A process killed by a fault is restarted; a hung one is not: the hang is a finding.
            if (
                handle.killed_by_nemesis
                and handle.group_restart
                and time.monotonic() < phase_end - 0.1
            ):
                self.respawn(handle, phase_end - time.monotonic())

    def kill_overdue(self, hard_stop: float) -> None:
        """Kill every process still running after ``hard_stop`` (plus the time it was stopped)."""
        now = time.monotonic()
        for handle in self.alive():
            # A process that was stopped had that much less time to finish: it is not late.
            if now > hard_stop + handle.stopped_seconds(0.0, now):
                self.kill(
                    handle,
                    f"timed out: still running {self.timeouts.op:.0f} s after the phase ended "
                    "(hung store?)",
                )

    def respawn(self, handle: ProcessHandle, remaining: float) -> None:
        incarnation = handle.incarnation + 1
        config = self.plan.main_config(
            handle.config.role, handle.config.index, incarnation, remaining
        )
        fresh = self.spawn(config, handle.group_restart, incarnation)
        fresh.ready.wait(self.timeouts.start)

    def kill(self, handle: ProcessHandle, reason: str, *, by_nemesis: bool = False) -> None:
        """SIGKILL the process and wait for it; ``reason`` becomes its end in the history."""
        if handle.is_alive():
            handle.kill_reason = reason
            handle.killed_by_nemesis = by_nemesis
            with contextlib.suppress(ProcessLookupError):
                os.kill(handle.process.pid, signal.SIGKILL)
            handle.process.join(5)

    def hung_call(self, handle: ProcessHandle) -> str | None:
        """Why ``handle`` counts as hung (a store call in flight too long), or None.

        Also tells the progress line which call it is waiting for, so a hang never looks like a
        frozen screen. Time the process spent stopped by a fault is not the store's.
        """
        since = handle.busy_since.value
        if not since:
            return None
        now = time.monotonic()
        waited = now - since - handle.stopped_seconds(since, now)
        if waited >= self.timeouts.patience and int(waited) > handle.told:
            handle.told = int(waited)
            call = self.call_in_flight(handle)
            self.progress(f"waiting {handle.told} s for {handle.name}: {call}")
        if waited < self.timeouts.op:
            return None
        call = self.call_in_flight(handle)
        return f"timed out: {call} did not return within {self.timeouts.op:.0f} s (hung store?)"

    def call_in_flight(self, handle: ProcessHandle) -> str:
        last = last_invoke(Path(handle.config.history_path))
        if last is None:
            return "a store call"
        return f"{last.f}({last.job})" if last.job else f"{last.f}()"

    def process_ended(self, handle: ProcessHandle) -> str:
        """Record how a finished process ended; a process that died by itself is a crash event.

        A death is an exit the harness did not cause that came before the process's work was
        done: any signal or exit code, 0 included (``os._exit(0)``, ``sys.exit()`` in a store
        call). The operation in flight, if any, is kept as evidence: a death during a read
        hurts C2, during a write C6, during ``recover()`` C1 and C3.
        """
        process = handle.process
        process.join()
        handle.resume()  # a process killed while stopped: close the stopped span
        reason = handle.kill_reason
        if reason is None:
            # Every attachment is asked (each records what it did); the first answer is the end.
            explained = [a.explain_exit(process.exitcode) for a in handle.attachments]
            reason = next((text for text in explained if text), None)
            handle.killed_by_nemesis = reason is not None
        if reason is None and (process.exitcode != 0 or not handle.finished.is_set()):
            reason = self._record_death(handle)
        for attachment in handle.attachments:
            attachment.detach()
        handle.attachments.clear()
        self.ends[handle.name] = ProcessEnd(time.monotonic() - self.epoch, reason or "exited")
        return reason or "exited"

    def _record_death(self, handle: ProcessHandle) -> str:
        exitcode = handle.process.exitcode
        reason = f"the process died by itself: {describe_exit(exitcode)}"
        if exitcode == 0:
            reason += " before its work was done"
        last = last_invoke(Path(handle.config.history_path))
        assert self.nemesis is not None
        self.nemesis.event(
            "crash",
            None,
            {
                "process": handle.name,
                "role": handle.role,
                "exit": exitcode,
                "in_flight": {"f": last.f, "job": last.job} if last else None,
            },
        )
        return reason

    def cleanup(self) -> None:
        """End every process: continue the stopped, detach every fault, kill what still runs."""
        for handle in self.running:
            handle.resume()
            for attachment in handle.attachments:
                # Detaching records the fault's end; after an error the history may be gone,
                # and nothing here may keep the tracer, or the next one, attached.
                with contextlib.suppress(OSError):
                    attachment.detach()
            handle.attachments.clear()
            if handle.is_alive():
                os.kill(handle.process.pid, signal.SIGKILL)
                handle.process.join(5)
        for handle in self.spawned:  # the run is over: no handle is asked anything any more
            close_process(handle.process)
        self.spawned.clear()


def close_process(process: Any) -> None:
    """Release an ended process's sentinel pipe now, not when it is garbage collected.

    A caller that runs many scenarios in one process (``harness.verify``, the pytest plugin)
    would otherwise pile up these descriptors, and every process forked later inherits them:
    a store process would start near its descriptor limit and be judged a leaker.
    """
    with contextlib.suppress(ValueError, AttributeError):  # still running, or already closed
        process.close()


def last_invoke(path: Path) -> Record | None:
    """The operation a process had in flight: its last record, when that is an invoke."""
    try:
        records = read_records(path)
    except OSError:
        return None
    if records and records[-1].type == INVOKE:
        return records[-1]
    return None
