"""The service's leases in one process: the heartbeat, fenced writes, the rescuer, settings.

A real SQLite store under each test; the multi-process and multi-host behaviour is in
``test_service_leases.py``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from durable_jobs import LeaseLostError, open_store
from durable_jobs.lifecycle import abandonment_changes, current_owner
from durable_jobs.service.leasing import LeaseKeeper
from durable_jobs.service.rescuer import Rescuer, rescue_abandoned_jobs
from durable_jobs.service.settings import ServiceConfigError, ServiceSettings


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = open_store(f"sqlite://{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


def keeper_of(store: Any, lease_seconds: float = 5.0) -> LeaseKeeper:
    return LeaseKeeper(store, "web-1-test", lease_seconds=lease_seconds, heartbeat_seconds=1.0)


def held_job(store: Any, keeper: LeaseKeeper, job_id: str = "a1") -> Any:
    held = keeper.new_lease(job_id)
    store.save_job(job_id, {"status": "running", "owner": current_owner(), "lease": held.record})
    keeper.hold(held)
    return held


def test_a_heartbeat_moves_every_held_lease_forward_and_keeps_its_token(store: Any) -> None:
    keeper = keeper_of(store)
    held = held_job(store, keeper)
    before = store.get_job("a1")["lease"]
    keeper.renew_all()
    after = store.get_job("a1")["lease"]
    assert after["token"] == before["token"] and after["instance"] == "web-1-test"
    assert after["expires_at"] > before["expires_at"] and held.record == after


def test_a_rescued_job_makes_its_lease_lost_and_the_workers_writes_stop(store: Any) -> None:
    keeper = keeper_of(store)
    held = held_job(store, keeper)
    fenced = held.fenced(store)
    fenced.update_job("a1", {"progress": 0.5})  # held: written
    job = store.get_job("a1")
    store.update_job("a1", abandonment_changes(job), expect={"lease.token": held.record["token"]})
    keeper.renew_all()  # refused: the token is gone
    assert held.lost.is_set() and keeper.held("a1") is None
    with pytest.raises(LeaseLostError):
        fenced.update_job("a1", {"status": "done", "progress": 1.0})
    rescued = store.get_job("a1")
    assert rescued["status"] == "error" and rescued["progress"] == 0.5 and rescued["lease"] is None


def test_the_rescue_of_a_live_lease_fails_nothing_and_of_an_expired_one_fails_it(
    store: Any,
) -> None:
    keeper = keeper_of(store, lease_seconds=0.2)
    held_job(store, keeper, "expires")
    live = LeaseKeeper(store, "web-2-test", lease_seconds=60.0, heartbeat_seconds=10.0)
    held_job(store, live, "lives")
    assert rescue_abandoned_jobs(store) == ([], set())
    deadline = time.monotonic() + 10
    while time.time() <= store.get_job("expires")["lease"]["expires_at"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rescue_abandoned_jobs(store) == (["expires"], set())
    assert store.get_job("lives")["status"] == "running"


def test_a_problem_a_worker_met_is_stored_by_the_next_renewal_and_named_by_the_rescue(
    store: Any,
) -> None:
    keeper = keeper_of(store, lease_seconds=0.2)
    held = held_job(store, keeper)
    held.note_problem("DurabilityError: ENOSPC (No space left on device) on /srv/jobs")
    keeper.renew_all()
    assert store.get_job("a1")["last_problem"].startswith("DurabilityError: ENOSPC")
    assert held.problem is None
    deadline = time.monotonic() + 10
    while time.time() <= store.get_job("a1")["lease"]["expires_at"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rescue_abandoned_jobs(store) == (["a1"], set())
    error = store.get_job("a1")["error"]
    assert error.startswith("abandoned") and error.endswith("No space left on device) on /srv/jobs")


def wait_for_status(store: Any, job_id: str, status: str, timeout: float) -> float:
    started = time.monotonic()
    while store.get_job(job_id)["status"] != status:
        assert time.monotonic() - started < timeout, store.get_job(job_id)
        time.sleep(0.02)
    return time.monotonic() - started


def test_after_an_outage_the_rescuer_waits_a_lease_before_failing_expired_leases(
    tmp_path: Path,
) -> None:
    """A real outage of a file store: its folder renamed away, then back."""
    root = tmp_path / "jobs"
    store = open_store(f"file://{root}")
    keeper = keeper_of(store, lease_seconds=0.1)
    held_job(store, keeper, "stale")  # never renewed: expired 0.1 s from now
    grace = 1.5
    rescuer = Rescuer(store, interval=0.05, grace=grace)
    root.rename(tmp_path / "away")  # every pass fails: the store is gone
    rescuer.start()
    try:
        deadline = time.monotonic() + 10
        while not rescuer.outage_seen:
            assert time.monotonic() < deadline, "the rescuer never met the outage"
            time.sleep(0.02)
        (tmp_path / "away").rename(root)
        back = time.monotonic()
        waited = wait_for_status(store, "stale", "error", timeout=grace + 5)
        # Expired all along, yet failed only once the grace after the outage was over.
        assert time.monotonic() - back >= grace * 0.9, waited
    finally:
        rescuer.stop()
        store.close()


def test_lease_defaults_are_30_s_renewed_every_10_s_and_rescued_every_10_s() -> None:
    settings = ServiceSettings.resolve(environ={})
    assert (settings.lease_seconds, settings.heartbeat_seconds, settings.rescue_seconds) == (
        30.0,
        10.0,
        10.0,
    )


def test_lease_settings_come_from_the_environment() -> None:
    settings = ServiceSettings.resolve(
        environ={"DURABLE_JOBS_LEASE_SECONDS": "2", "DURABLE_JOBS_HEARTBEAT_SECONDS": "0.5"}
    )
    assert (settings.lease_seconds, settings.heartbeat_seconds) == (2.0, 0.5)


def test_a_heartbeat_slower_than_half_the_lease_is_refused_with_the_fix() -> None:
    with pytest.raises(ServiceConfigError, match="at least twice per lease"):
        ServiceSettings.resolve(environ={"DURABLE_JOBS_HEARTBEAT_SECONDS": "20"})


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon", "100000"])
def test_a_lease_that_is_not_a_sane_number_of_seconds_is_refused(value: str) -> None:
    with pytest.raises(ServiceConfigError, match="DURABLE_JOBS_LEASE_SECONDS"):
        ServiceSettings.resolve(environ={"DURABLE_JOBS_LEASE_SECONDS": value})
