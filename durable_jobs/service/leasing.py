"""The leases of one service instance: taken for each job it accepts, renewed by one thread.

Every job this instance holds (queued in its memory, or running on one of its threads)
carries a lease (:mod:`durable_jobs.leases`). :class:`LeaseKeeper` is the one heartbeat thread
of the instance: every ``heartbeat_seconds`` it moves each held lease's expiry
``lease_seconds`` ahead, so a live instance's jobs are never rescued, and a dead or paused
one's expire and are (by :mod:`durable_jobs.service.rescuer`, on any instance)::

    held = keeper.new_lease(job_id)           # a fresh token, not yet renewed
    store.save_job(job_id, {..., "lease": held.record})
    keeper.hold(held)                         # renewed from now on
    fenced = held.fenced(store)               # every update_job expects held's token
    keeper.release(job_id)                    # the job ended: stop renewing

Every write of the job's worker goes through :meth:`HeldLease.fenced`, so it states the token
it holds. A write that fails for a reason of the medium (no space left, a read-only file system,
the database away) is noted on the lease, and the next renewal that gets through stores it as
the job's ``last_problem``: if the instance then dies, the rescue's error names that cause, not
just "abandoned". A renewal or a write refused with :class:`LeaseLostError` means another instance
rescued the job while this one was paused or cut off: the lease is marked lost, and the
worker's next write raises at once, without touching the store, so the job stops.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from durable_jobs.errors import (
    DurabilityError,
    JobNotFoundError,
    LeaseLostError,
    StoreUnavailableError,
)
from durable_jobs.leases import LEASE_KEY, TOKEN_PATH, lease_lost, new_lease, renewed_lease
from durable_jobs.lifecycle import LAST_PROBLEM_KEY

log = logging.getLogger("durable_jobs.service")


@dataclass
class HeldLease:
    """A lease this instance holds on one job, and whether it was found taken over."""

    job_id: str
    record: dict[str, Any]
    lost: threading.Event = field(default_factory=threading.Event)
    problem: str | None = None
    """The last failure of the medium a write of this job met, not yet stored."""

    def note_problem(self, problem: str) -> None:
        """Remember ``problem`` for the next renewal to store as the job's ``last_problem``."""
        self.problem = problem

    @property
    def expect(self) -> dict[str, Any]:
        """The expectation of every write made under this lease."""
        return {TOKEN_PATH: self.record["token"]}

    def fenced(self, store: Any) -> FencedStore:
        """``store`` whose ``update_job`` of this job always expects this lease's token."""
        return FencedStore(store, self)


class FencedStore:
    """A store seen through one held lease: its updates of that job are fenced writes."""

    def __init__(self, store: Any, held: HeldLease) -> None:
        self._store = store
        self._held = held

    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        if job_id != self._held.job_id:
            return self._store.update_job(job_id, changes)  # type: ignore[no-any-return]
        if self._held.lost.is_set():
            # Known lost (a renewal was refused): refuse without another round trip.
            raise lease_lost(job_id, "this instance's lease was taken over")
        try:
            job = self._store.update_job(job_id, changes, expect=self._held.expect)
        except LeaseLostError:
            self._held.lost.set()
            raise
        except (DurabilityError, StoreUnavailableError, OSError) as error:
            self._held.note_problem(f"{type(error).__name__}: {error}")
            raise
        return job  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class LeaseKeeper:
    """The heartbeat thread of one instance: renews the lease of every job it holds."""

    def __init__(
        self,
        store: Any,
        instance: str,
        *,
        lease_seconds: float,
        heartbeat_seconds: float,
    ) -> None:
        self.store = store
        self.instance = instance
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._held: dict[str, HeldLease] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (the held leases then expire, unless their jobs ended first)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def new_lease(self, job_id: str) -> HeldLease:
        """A fresh lease for ``job_id`` (a new token), to store with the job, then :meth:`hold`."""
        return HeldLease(job_id, new_lease(self.instance, self.lease_seconds))

    def hold(self, held: HeldLease) -> None:
        """Renew ``held`` from now on (call it once the job carrying it is stored)."""
        with self._lock:
            self._held[held.job_id] = held

    def held(self, job_id: str) -> HeldLease | None:
        with self._lock:
            return self._held.get(job_id)

    def release(self, job_id: str) -> None:
        """Stop renewing the lease of ``job_id`` (its job ended, or was never stored)."""
        with self._lock:
            self._held.pop(job_id, None)

    def renew_all(self) -> None:
        """Renew every held lease once; a lease found taken over is marked lost and dropped."""
        with self._lock:
            held = list(self._held.values())
        for lease in held:
            if self._stopping.is_set():
                return
            self._renew(lease)

    def _renew(self, held: HeldLease) -> None:
        renewed = renewed_lease(held.record, self.lease_seconds)
        problem = held.problem
        changes: dict[str, Any] = {LEASE_KEY: renewed}
        if problem is not None:
            changes[LAST_PROBLEM_KEY] = problem
        try:
            self.store.update_job(held.job_id, changes, expect=held.expect)
        except LeaseLostError as error:
            held.lost.set()
            self.release(held.job_id)
            log.warning("job %s: lease lost, the job stops here: %s", held.job_id, error)
        except JobNotFoundError:
            self.release(held.job_id)  # deleted: nothing left to hold
        except Exception as error:
            # An outage: keep trying at the next beat; if it lasts past the lease, the job is
            # rescued (and this instance's late writes are refused), which is the point.
            log.warning("job %s: lease not renewed: %s", held.job_id, error)
        else:
            held.record = renewed
            if held.problem is problem:
                held.problem = None  # stored; a newer one waits for the next renewal

    def _beat(self) -> None:
        while not self._stopping.wait(self.heartbeat_seconds):
            try:
                self.renew_all()
            except BaseException:  # a bug must not silently stop every renewal
                log.exception("lease heartbeat failed")
