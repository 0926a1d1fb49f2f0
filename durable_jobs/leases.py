"""Leases: how a job says "a live worker runs me until ``expires_at``", and fencing writes.

A job that a service instance holds (queued in its memory, or running on one of its threads)
carries a **lease**, a small record under the job's ``lease`` key::

    {"instance": "web-2-4f1c9a0e", "token": "9b1e5f0c2d7a4e61",
     "expires_at": 1764689400.0, "heartbeat_at": 1764689370.0}

The holder renews it (a heartbeat moves ``expires_at`` forward) well before it expires. Any
instance, on any host, may **rescue** a job whose lease has expired: its holder has stopped
renewing, because it was killed, lost the network, or was paused (SIGSTOP, a VM frozen). Times
are Unix seconds from the wall clock, compared across hosts, so the hosts' clocks must agree to
well within a lease (NTP keeps them within milliseconds; a lease is seconds long).

A lease alone is not enough: a paused worker that wakes after its job was rescued still
believes it holds the job. **Fencing** stops it: each of its writes states what it expects to
find, and the store refuses the write, under the same lock or transaction that would apply it,
when the stored job differs::

    store.update_job(job_id, {"progress": 0.5}, expect={"lease.token": token})
    # LeaseLostError if the job's lease.token is no longer `token` (the job was rescued)

``expect`` maps a key, or a dotted path into nested objects (``"lease.token"``), to the value
the write expects; ``None`` expects the key to be missing or null. :func:`expectation_mismatch`
is the one rule every backend applies, and :func:`parse_expect` the one check of its argument.
"""

from __future__ import annotations

import math
import secrets
import socket
import time
from typing import Any

from durable_jobs.errors import InvalidJobError, LeaseLostError

LEASE_KEY = "lease"
TOKEN_PATH = "lease.token"
_MISSING = object()


def new_lease(instance: str, lease_seconds: float, *, now: float | None = None) -> dict[str, Any]:
    """A fresh lease for ``instance``, with a new random token, valid for ``lease_seconds``."""
    return renewed_lease(
        {"instance": instance, "token": secrets.token_hex(8)}, lease_seconds, now=now
    )


def renewed_lease(
    lease: dict[str, Any], lease_seconds: float, *, now: float | None = None
) -> dict[str, Any]:
    """``lease`` with the same holder and token, valid for ``lease_seconds`` from ``now``."""
    at = time.time() if now is None else now
    return {**lease, "heartbeat_at": at, "expires_at": at + lease_seconds}


def new_instance_id() -> str:
    """An id for one service instance: its host name and a random part (unique per start)."""
    return f"{socket.gethostname()}-{secrets.token_hex(4)}"


def lease_expiry(job: dict[str, Any]) -> float | None:
    """The job's lease expiry time, or None when it carries no well-formed lease."""
    lease = job.get(LEASE_KEY)
    if not isinstance(lease, dict):
        return None
    expires_at = lease.get("expires_at")
    if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
        return None
    return float(expires_at) if math.isfinite(expires_at) else None


def lease_token(job: dict[str, Any]) -> Any:
    """The job's lease token (None without a lease): what a rescue expects to replace."""
    lease = job.get(LEASE_KEY)
    return lease.get("token") if isinstance(lease, dict) else None


def parse_expect(expect: object) -> dict[str, Any] | None:
    """``expect`` checked: None, or a dict from non-empty dotted key paths to JSON values."""
    if expect is None:
        return None
    if not isinstance(expect, dict) or not all(
        isinstance(path, str) and path and all(path.split(".")) for path in expect
    ):
        raise InvalidJobError(
            f"expect must be a dict of key paths such as {{'lease.token': token}}, got {expect!r}"
        )
    return expect


def stored_value(job: dict[str, Any], path: str) -> Any:
    """The value at dotted ``path`` in ``job`` (None when a step is missing or not an object)."""
    value: Any = job
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step, _MISSING)
        if value is _MISSING:
            return None
    return value


def expectation_mismatch(job: dict[str, Any], expect: dict[str, Any] | None) -> str | None:
    """None when ``job`` holds every expected value, else a sentence naming the first that differs.

    A value compares as JSON does (``1 == 1.0``); ``True`` never equals ``1``, because a stored
    boolean is not the number a writer expected.
    """
    for path, expected in (expect or {}).items():
        found = stored_value(job, path)
        if found != expected or isinstance(found, bool) != isinstance(expected, bool):
            return f"expected {path} = {expected!r}, found {found!r}"
    return None


def check_expectation(job_id: str, job: dict[str, Any], expect: dict[str, Any] | None) -> None:
    """Raise :class:`LeaseLostError` when the stored ``job`` does not hold what ``expect`` says."""
    mismatch = expectation_mismatch(job, expect)
    if mismatch is not None:
        raise lease_lost(job_id, mismatch)


def lease_lost(job_id: str, mismatch: str) -> LeaseLostError:
    """The error of a fenced write, saying why it was refused and what the writer should do."""
    return LeaseLostError(
        f"job {job_id!r} was not written: {mismatch}; another instance took the job over "
        "(its lease expired and it was rescued) or it changed meanwhile, so this writer must stop"
    )
