"""The rescuer: every few seconds, any instance fails the jobs nothing live holds any more.

Start-up recovery alone left a killed or paused instance's jobs ``running`` until some server
restarted. Every instance now runs a :class:`Rescuer` thread that, every ``rescue_seconds``,
asks the store to fail every non-terminal job whose lease expired or whose owner is provably
dead (:func:`durable_jobs.lifecycle.is_abandoned`). Every instance may run it at once: each
backend judges and fails a job atomically (a transaction, a row version, the job's lock), so a
job is failed once, and a job its worker renewed meanwhile is left alone.

Why fail and not requeue: the job's upload is spooled on the disk of the instance that
accepted it, which may be the one that died, and the job may have been half-run; the client
resubmits, and the error says why (with the last problem its worker recorded, if any).

A job is rescued at most ``lease_seconds + heartbeat_seconds + rescue_seconds`` after its
holder stopped (the last renewal, the expiry, the next pass): 50 s with the defaults.

**After an outage, a grace period.** While the store is away (a database restart, a full disk)
no holder can renew its leases either, so when the store comes back every lease of a long
outage has expired, live holders' included. A rescuer that saw the outage (a pass that raised,
or that could not read or write a job it could the pass before) therefore rescues nothing for one more lease, the
time live holders need to renew; only the leases still expired after it are abandoned. A
rescuer that saw no outage judges as usual: an outage its own passes never met was short or
did not reach it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("durable_jobs.service")


def rescue_abandoned_jobs(store: Any) -> tuple[list[str], set[str]]:
    """Fail the store's abandoned jobs once; return their ids, and the jobs it could not read.

    A store with ``rescue_abandoned()`` (SQLite, PostgreSQL) does only that; any other store
    (the file store, whose ``recover()`` is safe while others use it) runs its ``recover()``.
    """
    rescue = getattr(store, "rescue_abandoned", None) or store.recover
    report = rescue()
    as_dict = report.as_dict() if hasattr(report, "as_dict") else dict(report)
    return list(as_dict.get("abandoned_jobs_failed", [])), set(as_dict.get("unreadable") or ())


class Rescuer:
    """A thread that runs :func:`rescue_abandoned_jobs` every ``interval`` seconds, except for
    ``grace`` seconds (a lease) after an outage it saw."""

    def __init__(self, store: Any, interval: float, grace: float) -> None:
        self.store = store
        self.interval = interval
        self.grace = grace
        self._outage_seen = False
        self._unreadable: set[str] = set()  # a job damaged for good must not stop every rescue
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rescuer", daemon=True)

    @property
    def outage_seen(self) -> bool:
        """True from a pass that met an outage until the grace after it is over."""
        return self._outage_seen

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            if self._outage_seen:
                self._wait_out_the_outage()
                continue
            try:
                rescued, unreadable = rescue_abandoned_jobs(self.store)
            except Exception as error:  # an outage: the next pass tries again, after a grace
                log.warning("rescue of abandoned jobs failed, retrying later: %s", error)
                self._outage_seen = True
                continue
            self._outage_seen = bool(unreadable - self._unreadable)
            self._unreadable = unreadable
            if rescued:
                # WARNING: jobs were failed because an instance stopped; an operator should see it.
                log.warning("rescued %d abandoned jobs: %s", len(rescued), rescued)

    def _wait_out_the_outage(self) -> None:
        """Probe until the store answers, then give live holders a lease to renew."""
        try:
            self.store.list_jobs()
        except Exception:
            return  # still away
        log.info("store reachable again: no rescue for %g s, while holders renew", self.grace)
        if not self._stopping.wait(self.grace):
            self._outage_seen = False
