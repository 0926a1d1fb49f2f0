"""Kills: SIGKILL at an exact system call (strace), or at seeded random times.

One TOML kind, two faults, told apart by ``at``::

    [[faults]]
    kind = "kill"
    target = "writer-0"    # a role, or one process
    at = "syscall"         # strace: SIGKILL on entry to the Nth call of a group
    syscall = "fsync"      # fsync | rename | write (see harness.nemesis.syscalls.SYSCALL_GROUPS)
    nth = 3

    [[faults]]
    kind = "kill"
    target = "writer"
    at = "random"          # SIGKILL at seeded random times in the main phase
    times = 6

A kill at a system call lands *before* the call runs: the data written so far is in the page
cache, never made durable, which is a crash mid-fsync. A random kill lands wherever the process
is, which finds the places nobody thought of. Either way a process of a group marked
``restart = true`` is started again as a new incarnation, and the kill is a ``kill`` event of
the history (with the generic fields of :func:`harness.history.fault_windows.process_killed`).
"""

from __future__ import annotations

import functools
import random
import signal
from dataclasses import dataclass

from harness.history.fault_windows import process_killed
from harness.history.log import OK
from harness.nemesis.fault import (
    Fault,
    FaultRun,
    FaultTarget,
    ScenarioFacts,
    TimedAction,
    check_target,
)
from harness.nemesis.syscall_fault import ArmedInjector, SyscallFault
from harness.nemesis.syscalls import SYSCALL_GROUPS, AttachedInjector, Injection
from harness.scenario.toml_table import TableReader

KILL_AT = ("syscall", "random")


def parse_kill(table: TableReader) -> Fault:
    """The registry's parser for ``kind = "kill"``: ``at`` picks the fault."""
    at = table.choice("at", KILL_AT, default="random")
    fault_class = KillAtSyscall if at == "syscall" else RandomKill
    return fault_class.from_table(table)


def record_kill(run: FaultRun, victim: FaultTarget, how: str, evidence: list[str]) -> None:
    """The ``kill`` event: which process, how, and the trace lines that show it."""
    assert run.nemesis is not None
    run.nemesis.event(
        "kill",
        None,
        {
            "process": victim.name,
            "pid": victim.pid,
            "how": how,
            "evidence": evidence[:3],
            **process_killed(victim.name, how),
        },
        kind=OK,
    )


class _ArmedKill(ArmedInjector):
    """A kill armed on one process: when it dies by SIGKILL, this fault killed it."""

    def __init__(self, run: FaultRun, process: FaultTarget, injector: AttachedInjector) -> None:
        super().__init__(run, process, injector)
        self.process = process

    def explain_exit(self, exitcode: int | None) -> str | None:
        if exitcode != -signal.SIGKILL:
            return None
        how = self.injector.injection.describe()
        record_kill(self.run, self.process, how, self.injector.injected_calls())
        return f"killed by nemesis: {how} (strace)"


@dataclass(frozen=True)
class KillAtSyscall(SyscallFault):
    """SIGKILL on entry to the ``nth`` call of ``syscall`` of each ``target`` process."""

    kind = "kill"
    nth: int = 1

    @classmethod
    def from_table(cls, table: TableReader) -> KillAtSyscall:
        return cls(
            target=table.string("target", default="writer"),
            syscall=table.choice("syscall", tuple(SYSCALL_GROUPS), default="fsync"),
            nth=table.integer("nth", default=1, minimum=1, maximum=1_000_000),
        )

    def injection(self) -> Injection:
        return Injection(self.syscall, "signal=KILL", str(self.nth))

    def attachment(
        self, run: FaultRun, process: FaultTarget, injector: AttachedInjector
    ) -> ArmedInjector:
        return _ArmedKill(run, process, injector)


@dataclass(frozen=True)
class RandomKill(Fault):
    """SIGKILL ``times`` times, each at a seeded random moment, of one live ``target`` process."""

    kind = "kill"
    target: str = "writer"
    times: int = 1

    @classmethod
    def from_table(cls, table: TableReader) -> RandomKill:
        return cls(
            target=table.string("target", default="writer"),
            times=table.integer("times", default=1, minimum=1, maximum=10_000),
        )

    def check_scenario(self, facts: ScenarioFacts, key: str) -> None:
        check_target(self.target, facts, key)

    def schedule(self, run: FaultRun, duration: float, rng: random.Random) -> list[TimedAction]:
        return [
            TimedAction(rng.uniform(0.15, 0.85) * duration, functools.partial(self._kill, run, rng))
            for _ in range(self.times)
        ]

    def _kill(self, run: FaultRun, rng: random.Random) -> None:
        candidates = [process for process in run.targets(self.target) if process.is_alive()]
        if not candidates:
            return
        victim = rng.choice(candidates)
        how = "SIGKILL at a random time"
        record_kill(run, victim, how, [])
        run.kill(victim, how)
