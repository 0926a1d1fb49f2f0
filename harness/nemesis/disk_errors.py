"""Disk errors: chosen system calls of a process fail with ENOSPC or EIO, as a sick disk's do.

::

    [[faults]]
    kind = "diskfault"
    target = "writer-0"   # a role, or one process
    syscall = "write"     # fsync | rename | write
    error = "ENOSPC"      # ENOSPC | EIO
    nth = 2               # the first call that fails
    every = 3             # then every 3rd one (0: only the nth)

strace fails the call without running it (``error=ENOSPC``), so the store sees exactly what a
full or failing disk returns, in whatever language it is written. From arming to the end of the
process the fault is a window of the history with effect ``calls_fail`` and the errno: a write
that raised inside it is the right answer, and its message must name the cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.history.fault_windows import CALLS_FAIL
from harness.nemesis.fault import FaultRun, FaultTarget
from harness.nemesis.syscall_fault import ArmedInjector, ArmedWindow, SyscallFault
from harness.nemesis.syscalls import SYSCALL_GROUPS, AttachedInjector, Injection
from harness.scenario.toml_table import TableReader

DISK_ERRORS = ("ENOSPC", "EIO")


@dataclass(frozen=True)
class DiskErrors(SyscallFault):
    """``syscall`` calls of each ``target`` fail with ``error``: the ``nth``, then every ``every``."""

    kind = "diskfault"
    error: str = "ENOSPC"
    nth: int = 1
    every: int = 0

    @classmethod
    def from_table(cls, table: TableReader) -> DiskErrors:
        return cls(
            target=table.string("target", default="writer"),
            syscall=table.choice("syscall", tuple(SYSCALL_GROUPS), default="fsync"),
            error=table.choice("error", DISK_ERRORS, default="ENOSPC"),
            nth=table.integer("nth", default=1, minimum=1, maximum=1_000_000),
            every=table.integer("every", default=0, minimum=0, maximum=1_000_000),
        )

    def injection(self) -> Injection:
        when = f"{self.nth}+{self.every}" if self.every else str(self.nth)
        return Injection(self.syscall, f"error={self.error}", when)

    def attachment(
        self, run: FaultRun, process: FaultTarget, injector: AttachedInjector
    ) -> ArmedInjector:
        return ArmedWindow(run, process, injector, self.kind, CALLS_FAIL, self.error)
