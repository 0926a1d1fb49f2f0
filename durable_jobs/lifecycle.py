"""Job lifecycle rules shared by every backend: which statuses are final, and which jobs are
abandoned (nothing will ever finish them), so that a rescue may fail them.

A job moves ``queued -> running -> done | error``. The incident's worst bug was a job left
``running`` forever after its worker died. Two marks on a job say who holds it:

* ``owner`` (:func:`current_owner`): the host, its pid namespace, the pid and the pid's start
  time of the process that holds the job. Information, and a fast path: an owner on this host
  and in this pid namespace whose process is provably gone has abandoned its job *now*, so the
  embedded file store on one host fails a killed worker's jobs at the next start-up with no
  configuration at all::

      store.update_job(job_id, {"status": "running", "owner": current_owner()})

* ``lease`` (:mod:`durable_jobs.leases`): an expiry time its holder keeps pushing forward. This
  is what works across hosts: a job whose lease expired is abandoned, wherever it is judged.

:func:`is_abandoned` applies both. A job with neither mark (or a malformed owner) is abandoned:
nothing is running it. An owner on another host, or in another pid namespace of this host, is
never judged by its pid (a pid means nothing there): without a lease such a job is left to its
own host's recovery. Jobs without a ``status`` key are not lifecycle jobs and are left alone.

:func:`abandonment_changes` is the update that fails an abandoned job. It keeps the last real
cause: a worker that met a problem it could not get past (say "no space left on device" while
retrying) records it under ``last_problem``, and the rescued job's ``error`` names it.
"""

from __future__ import annotations

import os
import socket
import time
from functools import cache
from typing import Any

from durable_jobs.leases import LEASE_KEY, lease_expiry

TERMINAL_STATUSES = frozenset({"done", "error"})
OWNER_KEY = "owner"
LAST_PROBLEM_KEY = "last_problem"
"""A job key where a worker records the problem it is stuck on; a rescue's error repeats it."""


def is_terminal(job: dict[str, Any]) -> bool:
    """True when the job has finished (``done`` or ``error``) or has no lifecycle at all."""
    status = job.get("status")
    # Only a string can be terminal; testing a list or dict for membership in a frozenset would
    # raise TypeError (unhashable) and stop recover() at start-up over one odd job.
    return status is None or (isinstance(status, str) and status in TERMINAL_STATUSES)


def current_owner() -> dict[str, Any]:
    """An owner record for this process: host, pid namespace, pid, the pid's start time."""
    pid = os.getpid()
    owner: dict[str, Any] = {"host": _hostname(), "pid": pid, "pid_start": process_start_time(pid)}
    namespace = pid_namespace()
    if namespace is not None:
        owner["pid_ns"] = namespace
    return owner


def is_abandoned(job: dict[str, Any], *, now: float | None = None) -> bool:
    """True for a non-terminal job that nothing live holds: its owner is provably dead, or its
    lease expired before ``now`` (default: the wall clock), or it has no owner at all."""
    if is_terminal(job):
        return False
    owner_alive = owner_is_alive(job.get(OWNER_KEY))
    if owner_alive is False:
        return True  # the fast path: the holder is gone, whatever its lease still says
    expires_at = lease_expiry(job)
    if expires_at is not None:
        return expires_at < (time.time() if now is None else now)
    if owner_alive is None:
        # No lease, and an owner this process cannot judge: one elsewhere keeps its job (its own
        # host recovers it); no owner at all, or junk, means nothing holds the job.
        return not isinstance(job.get(OWNER_KEY), dict)
    return False  # a live owner on this host


def owner_is_alive(owner: object) -> bool | None:
    """True or False when this process can tell whether ``owner``'s process lives; else None.

    None for an owner elsewhere (another host or pid namespace) and for a malformed owner; the
    caller decides what those mean. A pid whose start time differs was reused: the owner died.
    """
    if not isinstance(owner, dict):
        return None
    if owner.get("host") != _hostname():
        # A malformed host (None, a number) cannot be another machine's name: the owner is junk.
        return None if isinstance(owner.get("host"), str) else False
    if "pid_ns" in owner and owner["pid_ns"] != pid_namespace():
        return None  # another container on this host: its pids are not ours to look up
    pid = owner.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    start = process_start_time(pid)
    return start is not None and start == owner.get("pid_start")


def abandonment_changes(job: dict[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """The update that ends an abandoned job, with a reason that names what happened.

    The lease is removed, so a paused holder that wakes up finds another token than its own and
    its writes are refused (see :mod:`durable_jobs.leases`).
    """
    at = time.time() if now is None else now
    status = job.get("status")
    expires_at = lease_expiry(job)
    if owner_is_alive(job.get(OWNER_KEY)) is not False and expires_at is not None:
        lease = job[LEASE_KEY]
        how = (
            f"its lease (instance {lease.get('instance')!r}) expired "
            f"{max(at - expires_at, 0.0):.1f} s before the rescue: the instance stopped renewing "
            "it (killed, paused or cut off)"
        )
    else:
        how = "the process holding it stopped (killed or restarted)"
    error = (
        f"abandoned: the worker running this job stopped while it was {status!r}; {how}; "
        "the job was failed on recovery, resubmit it"
    )
    problem = job.get(LAST_PROBLEM_KEY)
    if isinstance(problem, str) and problem:
        error += f"; the last problem its worker recorded: {problem}"
    changes: dict[str, Any] = {"status": "error", "error": error, "recovered_at": at}
    if expires_at is not None:
        changes[LEASE_KEY] = None  # a well-formed lease only: anything else is the job's data
    return changes


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


def pid_namespace() -> int | None:
    """The inode of this process's pid namespace (None where /proc does not show it).

    Two processes see the same pids only in the same namespace: a container started with its
    own (``unshare --pid``) has a pid 7 unrelated to the host's pid 7, on the same host name.
    """
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


@cache
def _hostname() -> str:
    return socket.gethostname()
