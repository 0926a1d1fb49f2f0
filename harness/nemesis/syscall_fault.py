"""The faults strace injects at a system call of a live process: what they share.

A kill at a system call, disk errors and a slow disk are the same act with a different payload
(``signal=KILL``, ``error=ENOSPC``, ``delay_enter=15000``; see :mod:`harness.nemesis.syscalls`):
when the main-phase processes are ready, strace is attached to each process the fault targets,
before anyone moves, so the Nth call is counted from the first one. :class:`SyscallFault` does
that part; a subclass says which :class:`~harness.nemesis.syscalls.Injection` it injects and what
its attachment records (:class:`ArmedInjector`): a window while armed for disk errors, a kill for
a kill.

The attachment ends with its process (or at release): strace detaches, and an injection that
never fired (the process made fewer such calls than the Nth) becomes a note in the report, since
a fault that did not happen proves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.history.fault_windows import new_window_id, window_closed, window_opened
from harness.history.log import OK
from harness.nemesis.fault import (
    Fault,
    FaultRun,
    FaultTarget,
    ScenarioFacts,
    check_target,
    is_target,
)
from harness.nemesis.syscalls import AttachedInjector, Injection, InjectionUnavailable, can_inject


class ArmedInjector:
    """strace attached to one process for one fault; subclasses record what the fault did."""

    def __init__(self, run: FaultRun, process: FaultTarget, injector: AttachedInjector) -> None:
        self.run = run
        self.process_name = process.name
        self.injector = injector
        self.detached = False

    def explain_exit(self, exitcode: int | None) -> str | None:
        return None

    def detach(self) -> None:
        if self.detached:
            return
        self.detached = True
        self.injector.detach()
        injected = self.injector.injected_calls()
        if not injected:
            # A fault that never fired proves nothing: say so instead of passing quietly.
            self.run.note(
                f"{self.process_name}: {self.injector.injection.describe()} never fired "
                "(the process made fewer such calls before it stopped)"
            )
        self.ended(injected)

    def ended(self, injected: list[str]) -> None:
        """After strace detached: ``injected`` holds the trace lines of the calls it hit."""


class ArmedWindow(ArmedInjector):
    """An injection in force from arming to detaching: a fault window on its process.

    Recorded as ``<kind>`` (invoke and *ok*, when strace is attached) and ``<kind>-end`` (when
    it detaches, with the first trace lines it injected), carrying the generic fields of
    :mod:`harness.history.fault_windows` (``effect``, ``errno``).
    """

    def __init__(
        self,
        run: FaultRun,
        process: FaultTarget,
        injector: AttachedInjector,
        kind: str,
        effect: str,
        errno: str | None = None,
    ) -> None:
        super().__init__(run, process, injector)
        self.kind = kind
        self.window = new_window_id(kind)
        assert run.nemesis is not None
        describe = injector.injection.describe()
        opened = window_opened(
            self.window, effect, process=process.name, errno=errno, label=describe
        )
        value = {"process": process.name, "fault": describe, "error": errno, **opened}
        run.nemesis.invoke(kind, None, value)
        run.nemesis.complete((kind, None), OK, {"process": process.name, "armed": True})

    def ended(self, injected: list[str]) -> None:
        assert self.run.nemesis is not None
        self.run.nemesis.event(
            f"{self.kind}-end",
            None,
            {"process": self.process_name, "injected": injected[:5], **window_closed(self.window)},
            kind=OK,
        )


@dataclass(frozen=True)
class SyscallFault(Fault):
    """A fault injected by strace at the calls of ``syscall`` (a group) of each ``target``."""

    target: str = "writer"
    syscall: str = "fsync"

    def injection(self) -> Injection:
        """What strace injects, and at which calls."""
        raise NotImplementedError

    def attachment(
        self, run: FaultRun, process: FaultTarget, injector: AttachedInjector
    ) -> ArmedInjector:
        """The attachment kept with the process (records what this kind records)."""
        return ArmedInjector(run, process, injector)

    def check_scenario(self, facts: ScenarioFacts, key: str) -> None:
        check_target(self.target, facts, key)

    def unavailable_reason(self) -> str | None:
        reason = can_inject()
        return f"needs syscall fault injection: {reason}" if reason else None

    def arm(self, run: FaultRun, process: FaultTarget) -> None:
        if not is_target(process, self.target) or process.pid is None:
            return
        log_path = run.run_dir / f"strace-{process.name}-{self.kind}.log"
        try:
            injector = AttachedInjector(process.pid, self.injection(), log_path)
        except InjectionUnavailable as error:
            run.note(f"{self.kind} on {process.name} not armed: {error}")
            return
        process.attach(self.attachment(run, process, injector))
