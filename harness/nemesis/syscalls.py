"""Fault injection at an exact system call of a running process, with strace.

strace can attach to any process and tamper with chosen system calls, counted from the moment it
attaches::

    strace -p 1234 -f -e trace=fsync,fdatasync -e inject=fsync,fdatasync:signal=KILL:when=3

kills process 1234 on entry to its 3rd ``fsync`` (each system call of a set is counted on its
own), before the call runs: the data written so far is in the page cache but was never made
durable, which is exactly a crash "mid-fsync". ``error=ENOSPC`` makes the call fail without
running it; ``delay_enter=20000`` stalls it 20 ms (a slow disk). It works the same for a store
written in Python or in C (SQLite), which a monkeypatch could not do.

The trace log (``-y`` prints the path behind every file descriptor) is kept as evidence: the
line marked ``(INJECTED)`` says which file the process was working on when the fault hit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

SYSCALL_GROUPS = {  # the name a scenario gives, and the system calls it counts as one
    "fsync": ("fsync", "fdatasync"),
    "rename": ("rename", "renameat", "renameat2"),
    # The harness records its own history with writev, so counting these counts the store's writes.
    "write": ("write", "pwrite64"),
}


class InjectionUnavailable(HarnessError):
    """strace is missing or cannot attach here; the message says why and how to fix it."""


def strace_path() -> str | None:
    return shutil.which("strace")


@dataclass
class Injection:
    """What to inject: ``action`` is ``signal=KILL``, ``error=ENOSPC`` or ``delay_enter=N``."""

    syscall_group: str
    action: str
    when: str  # strace's when= expression: "3" (3rd only), "3+" (3rd and after), "3+5" (3rd, then every 5th)

    @property
    def syscalls(self) -> tuple[str, ...]:
        return SYSCALL_GROUPS[self.syscall_group]

    def describe(self) -> str:
        what = {"signal=KILL": "SIGKILL"}.get(
            self.action, self.action.replace("error=", "").replace("delay_enter=", "delay ")
        )
        return f"{what} at {self.syscall_group} call {self.when}"


class AttachedInjector:
    """strace attached to one process, injecting one fault; :meth:`detach` ends it."""

    def __init__(self, pid: int, injection: Injection, log_path: Path) -> None:
        executable = strace_path()
        if executable is None:
            raise InjectionUnavailable(
                "strace is not installed (install it: apt-get install strace)"
            )
        self.pid = pid
        self.injection = injection
        self.log_path = log_path
        syscalls = ",".join(injection.syscalls)
        command = [
            executable,
            "-qq",
            "-f",
            "-y",
            "-s",
            "64",
            "-o",
            os.fspath(log_path),
            "-e",
            f"trace={syscalls}",
            "-e",
            f"inject={syscalls}:{injection.action}:when={injection.when}",
            "-p",
            str(pid),
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_attached()

    def _wait_attached(self, timeout: float = 10.0) -> None:
        """Poll /proc until the tracer is in place, so no call slips through before it counts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if tracer_of(self.pid) == self.process.pid:
                return
            if self.process.poll() is not None:
                stderr = (
                    self.process.stderr.read().decode(errors="replace").strip()
                    if self.process.stderr
                    else ""
                )
                raise InjectionUnavailable(
                    f"strace could not attach to pid {self.pid}: {stderr or 'it exited'}"
                )
            time.sleep(0.005)
        self.detach()
        raise InjectionUnavailable(
            f"strace did not attach to pid {self.pid} within {timeout:.0f} s"
        )

    def detach(self) -> None:
        """Stop tracing (strace detaches cleanly on SIGTERM); the process carries on untouched."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()

    def injected_calls(self) -> list[str]:
        """The trace lines of the calls that were tampered with (evidence for the report).

        An injected error is marked ``(INJECTED)``, a delayed call ``(DELAYED)``; a call that
        was killed never returns, so it is the unfinished line (``= ?``) just before ``killed by
        SIGKILL``.
        """
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        found = []
        for number, line in enumerate(lines):
            if "(INJECTED)" in line or "(DELAYED)" in line:
                found.append(line.strip())
            elif (
                "killed by SIGKILL" in line
                and number
                and lines[number - 1].rstrip().endswith("= ?")
            ):
                found.append(lines[number - 1].strip())
        return found[:20]


def tracer_of(pid: int) -> int | None:
    """The pid tracing ``pid`` (0 if none), or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0


def can_inject() -> str | None:
    """None when strace can attach and inject here, else the reason it cannot."""
    if strace_path() is None:
        return "strace is not installed (install it: apt-get install strace)"
    probe = subprocess.Popen(["sleep", "5"])
    try:
        try:
            injector = AttachedInjector(
                probe.pid, Injection("fsync", "error=EIO", "1"), Path(os.devnull)
            )
        except InjectionUnavailable as error:
            return str(error)
        injector.detach()
        return None
    finally:
        probe.kill()
        probe.wait()
