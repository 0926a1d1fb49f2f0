"""Starting the child processes of power loss, under ``strace`` or not, and waiting for them.

The explorer never runs the store in its own process: a store that hangs, dies or floods its
output must not take the harness with it, and the trace must hold the store's calls alone.
Every child runs one entry point of :mod:`harness.nemesis.powerloss.children`, given a JSON
instructions file::

    command = child_command("prepare_main", work / "prepare.json")
    problem = run_child(command, 60.0, work / "prepare.log")      # None: it succeeded
    problem = run_traced("trace_main", work / "trace.json", work / "trace.strace", work, 1024)

:func:`run_traced` starts the child under ``strace -f -y -xx --seccomp-bpf``: every thread, the
path behind each descriptor, every byte written as hex, and a stop only at the calls the model
follows (:data:`~harness.nemesis.powerloss.syscall_handlers.TRACED_SYSCALLS`).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from harness.errors import HarnessError
from harness.nemesis.powerloss.syscall_handlers import TRACED_SYSCALLS

TRACE_TIMEOUT = 60.0  # seconds: a few store calls under strace, plus the directory snapshots
_PROJECT_ROOT = Path(__file__).resolve().parents[3]
_CHILD = "import sys; from harness.nemesis.powerloss.children import {0}; {0}(sys.argv[1:])"


class TraceError(HarnessError):
    """The trace could not be taken or cut (not the store's fault); the message says why."""


def child_command(entry: str, *arguments: str | os.PathLike[str]) -> list[str]:
    """The command line of a child process running ``entry`` of the children module."""
    return [sys.executable, "-c", _CHILD.format(entry), *map(os.fspath, arguments)]


def child_environment() -> dict[str, str]:
    """This environment, with the project on ``PYTHONPATH`` so the child imports this harness."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [os.fspath(_PROJECT_ROOT), env.get("PYTHONPATH")])
    )
    return env


def run_child(command: list[str], timeout: float, stderr_path: Path) -> str | None:
    """Run a helper process to its end; None if it succeeded, else what went wrong."""
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            env=child_environment(),
            start_new_session=True,  # so a hung store can be killed with everything it started
        )
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return f"did not finish within {timeout:.0f} s (hung store?); see {stderr_path}"
    if code != 0:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        return f"exit code {code}: {tail[0][:300]} (full output: {stderr_path})"
    return None


@functools.cache
def _has_seccomp_filter(strace: str) -> bool:
    """True when this strace accepts ``--seccomp-bpf`` (strace 5.3 and later)."""
    probe = subprocess.run(
        [strace, "-f", "--seccomp-bpf", "-qq", "-e", "trace=none", "true"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=30,
    )
    return probe.returncode == 0


def run_traced(entry: str, instructions: Path, log_path: Path, work: Path, size: int) -> str | None:
    """Run the child ``entry`` under strace, its calls logged to ``log_path``."""
    strace = shutil.which("strace")
    if strace is None:
        raise TraceError("strace is not installed (install it: apt-get install strace)")
    # -f: follow threads and children; -y: the path behind each descriptor; -xx: every string in
    # hex, so paths and data parse exactly; -s: whole buffers, the model needs every byte written.
    limit = max(1 << 20, 4 * size + (1 << 16))
    syscalls = ",".join(
        f"?{name}" for name in TRACED_SYSCALLS
    )  # ?: not an error if the arch lacks it
    command = [
        strace,
        "-f",
        "-y",
        "-qq",
        "-xx",
        # Stop the process only at the calls traced (a seccomp filter), not at every call: the
        # interpreter's start-up makes thousands the model does not need. Older strace (< 5.3)
        # lacks it: the trace is the same, only slower.
        *(["--seccomp-bpf"] if _has_seccomp_filter(strace) else []),
        "-s",
        str(limit),
        "-e",
        f"trace={syscalls}",
        "-e",
        "signal=none",
        "-o",
        os.fspath(log_path),
        *child_command(entry, instructions),
    ]
    return run_child(command, TRACE_TIMEOUT, work / "trace.log")
