"""A slow disk: every call of a system call group of a process is stalled, as on a busy disk.

::

    [[faults]]
    kind = "slowdisk"
    target = "writer"     # a role, or one process
    syscall = "fsync"     # fsync | rename | write
    delay_ms = 15         # added on entry to every such call (required, above 0)

strace holds each call ``delay_ms`` before it runs (``delay_enter``). Nothing may break and
nothing may time out; the latency figures show the cost. From arming to the end of the process
the fault is a window of the history with effect ``calls_slow``: a write that raised inside it
(a store's own timeout) is excused, with no errno to name.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.history.fault_windows import CALLS_SLOW
from harness.nemesis.fault import FaultRun, FaultTarget
from harness.nemesis.syscall_fault import ArmedInjector, ArmedWindow, SyscallFault
from harness.nemesis.syscalls import SYSCALL_GROUPS, AttachedInjector, Injection
from harness.scenario.toml_table import TableReader


@dataclass(frozen=True)
class SlowDisk(SyscallFault):
    """Every ``syscall`` call of each ``target`` delayed by ``delay_ms`` on entry."""

    kind = "slowdisk"
    delay_ms: float = 0.0

    @classmethod
    def from_table(cls, table: TableReader) -> SlowDisk:
        delay_ms = table.number("delay_ms", default=0.0, minimum=0.0, maximum=10_000.0)
        if delay_ms <= 0:
            raise table.error("delay_ms", "a delay above 0 for a slowdisk fault")
        return cls(
            target=table.string("target", default="writer"),
            syscall=table.choice("syscall", tuple(SYSCALL_GROUPS), default="fsync"),
            delay_ms=delay_ms,
        )

    def injection(self) -> Injection:
        return Injection(self.syscall, f"delay_enter={int(self.delay_ms * 1000)}", "1+")

    def attachment(
        self, run: FaultRun, process: FaultTarget, injector: AttachedInjector
    ) -> ArmedInjector:
        return ArmedWindow(run, process, injector, self.kind, CALLS_SLOW)
