"""Job lifecycle rules shared by every backend: which statuses are final, and who owns a job.

A job moves ``queued -> running -> done | error``. The incident's worst bug was a job left
``running`` forever after its worker died, so :meth:`recover` (run at start-up) fails every
non-terminal job whose owner is gone. A worker marks the jobs it runs with :func:`current_owner`::

    store.update_job(job_id, {"status": "running", "owner": current_owner()})

and :func:`is_abandoned` then tells a job that a live process is still running from one whose
process is dead. A job with no owner is abandoned as soon as anyone recovers the store: nothing
is running it. An owner on another host counts as gone, because a store directory belongs to
one machine (a redeployed container gets a new hostname, and its old jobs must not wait forever).
Jobs without a ``status`` key are not lifecycle jobs and are left alone.
"""

from __future__ import annotations

import os
import socket
import time
from functools import cache
from typing import Any

TERMINAL_STATUSES = frozenset({"done", "error"})
OWNER_KEY = "owner"


def is_terminal(job: dict[str, Any]) -> bool:
    """True when the job has finished (``done`` or ``error``) or has no lifecycle at all."""
    status = job.get("status")
    # Only a string can be terminal; testing a list or dict for membership in a frozenset would
    # raise TypeError (unhashable) and stop recover() at start-up over one odd job.
    return status is None or (isinstance(status, str) and status in TERMINAL_STATUSES)


def current_owner() -> dict[str, Any]:
    """An owner record for this process: host, pid, and the pid's start time (against reuse)."""
    pid = os.getpid()
    return {"host": _hostname(), "pid": pid, "pid_start": process_start_time(pid)}


def is_abandoned(job: dict[str, Any]) -> bool:
    """True for a non-terminal job that no live process owns."""
    if is_terminal(job):
        return False
    owner = job.get(OWNER_KEY)
    if not isinstance(owner, dict):
        return True
    if owner.get("host") != _hostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    start = process_start_time(pid)
    # A pid can be reused by an unrelated process after the owner died; the start time tells.
    return start is None or start != owner.get("pid_start")


def abandonment_changes(job: dict[str, Any]) -> dict[str, Any]:
    """The update that ends an abandoned job, with a reason that names what happened."""
    status = job.get("status")
    return {
        "status": "error",
        "error": (
            f"abandoned: the worker running this job stopped while it was {status!r} "
            "(process killed or restarted); the job was failed on recovery, resubmit it"
        ),
        "recovered_at": time.time(),
    }


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or None if no such process exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            stat = stat_file.read()
    except OSError:
        return _start_time_without_proc(pid)
    # Field 22 (starttime) comes after the command name, which may itself contain spaces and
    # parentheses, so split after the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    if fields[:1] in ([b"Z"], [b"X"]):
        return None  # a zombie has died; only its exit status is waiting to be collected
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _start_time_without_proc(pid: int) -> int | None:
    """Fallback where /proc is missing: existence only (0 stands for 'alive, start unknown')."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return 0
    return 0


@cache
def _hostname() -> str:
    return socket.gethostname()
