"""Fencing: ``update_job(..., expect=...)`` is a compare-and-set, in every backend.

The compare happens under the same lock or transaction as the write, so concurrent processes
that each read a value and write it back incremented never lose an increment: a write whose
expectation no longer holds raises :class:`LeaseLostError` and changes nothing.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from typing import Any

import pytest

from durable_jobs import LeaseLostError, open_store
from durable_jobs.errors import InvalidJobError, JobNotFoundError
from durable_jobs.leases import expectation_mismatch, new_lease, renewed_lease, stored_value
from durable_jobs.lifecycle import abandonment_changes, is_abandoned

FORK = multiprocessing.get_context("fork")
FENCED_BACKENDS = ("file", "sqlite", "postgres")
TIMEOUT = 60.0


@pytest.fixture(params=FENCED_BACKENDS)
def fenced_store(request: pytest.FixtureRequest, make_store: Callable[[str], Any]) -> Any:
    return make_store(request.param)


def store_url_of(store: Any) -> str:
    if hasattr(store, "table"):
        return f"{store.url}{'&' if '?' in store.url else '?'}table={store.table}"
    if hasattr(store, "root"):
        return f"file://{store.root}"
    return f"sqlite://{store.path}"


# ------------------------------------------------------------------------------ the rule


def test_a_dotted_path_reads_into_nested_objects_and_misses_as_none() -> None:
    job = {"lease": {"token": "t1"}, "n": 1}
    assert stored_value(job, "lease.token") == "t1"
    assert stored_value(job, "lease.missing") is None
    assert stored_value(job, "n.deeper") is None


def test_an_expectation_compares_as_json_but_never_a_boolean_with_a_number() -> None:
    assert expectation_mismatch({"n": 1}, {"n": 1.0}) is None
    assert expectation_mismatch({"n": True}, {"n": 1}) == "expected n = 1, found True"
    assert expectation_mismatch({}, {"lease.token": None}) is None


def test_a_renewed_lease_keeps_its_token_and_moves_its_expiry() -> None:
    lease = new_lease("web-1", 30.0, now=100.0)
    renewed = renewed_lease(lease, 30.0, now=110.0)
    assert renewed["token"] == lease["token"] and renewed["instance"] == "web-1"
    assert (renewed["heartbeat_at"], renewed["expires_at"]) == (110.0, 140.0)


def test_an_expired_lease_abandons_a_job_and_its_rescue_removes_the_lease() -> None:
    job = {"status": "running", "owner": {"host": "web-2"}, "lease": new_lease("i", 2.0, now=10.0)}
    assert not is_abandoned(job, now=11.9)
    assert is_abandoned(job, now=12.1)
    changes = abandonment_changes(job, now=12.1)
    assert changes["status"] == "error" and changes["lease"] is None
    assert "expired 0.1 s before the rescue" in changes["error"]


# ------------------------------------------------------------------------------ each backend


def test_a_write_that_expects_the_stored_token_is_applied(fenced_store: Any) -> None:
    fenced_store.save_job("a1", {"status": "running", "lease": {"token": "t1"}})
    job = fenced_store.update_job("a1", {"progress": 0.5}, expect={"lease.token": "t1"})
    assert job == {"status": "running", "lease": {"token": "t1"}, "progress": 0.5}
    assert fenced_store.get_job("a1") == job


def test_a_write_that_expects_a_taken_token_is_refused_and_changes_nothing(
    fenced_store: Any,
) -> None:
    fenced_store.save_job("a1", {"status": "error", "lease": None, "error": "abandoned: ..."})
    with pytest.raises(LeaseLostError, match=r"expected lease.token = 't1', found None"):
        fenced_store.update_job("a1", {"status": "done"}, expect={"lease.token": "t1"})
    assert fenced_store.get_job("a1") == {
        "status": "error",
        "lease": None,
        "error": "abandoned: ...",
    }


def test_every_expected_value_must_hold(fenced_store: Any) -> None:
    fenced_store.save_job("a1", {"status": "running", "lease": {"token": "t1"}})
    with pytest.raises(LeaseLostError, match="status"):
        fenced_store.update_job(
            "a1", {"status": "error"}, expect={"lease.token": "t1", "status": "queued"}
        )
    fenced_store.update_job(
        "a1", {"status": "error"}, expect={"missing": None, "status": "running"}
    )
    assert fenced_store.get_job("a1")["status"] == "error"


def test_a_fenced_write_to_a_missing_job_is_not_found(fenced_store: Any) -> None:
    with pytest.raises(JobNotFoundError):
        fenced_store.update_job("nobody", {"n": 1}, expect={"lease.token": "t1"})


@pytest.mark.parametrize("expect", [["lease.token"], {"": 1}, {"lease..token": 1}, {3: 1}])
def test_a_malformed_expectation_is_refused_before_anything_is_written(
    fenced_store: Any, expect: Any
) -> None:
    fenced_store.save_job("a1", {"n": 1})
    with pytest.raises(InvalidJobError, match="expect must be a dict of key paths"):
        fenced_store.update_job("a1", {"n": 2}, expect=expect)
    assert fenced_store.get_job("a1") == {"n": 1}


def increment_by_compare_and_set(url: str, times: int, start: Any) -> None:
    """Child: add 1 to the job's ``n`` ``times`` times, each a read then a fenced write."""
    store = open_store(url)
    start.wait(TIMEOUT)
    done = refused = 0
    while done < times:
        seen = store.get_job("counter")["n"]
        try:
            store.update_job("counter", {"n": seen + 1}, expect={"n": seen})
            done += 1
        except LeaseLostError:
            refused += 1
    store.update_job("tallies", {f"refused-{id(store)}-{time.time()}": refused})
    store.close()


def test_concurrent_processes_never_lose_a_compare_and_set_increment(fenced_store: Any) -> None:
    processes, times = 4, 40
    fenced_store.save_job("counter", {"n": 0})
    fenced_store.save_job("tallies", {})
    start = FORK.Event()
    url = store_url_of(fenced_store)
    children = [
        FORK.Process(target=increment_by_compare_and_set, args=(url, times, start))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(TIMEOUT)
    assert [child.exitcode for child in children] == [0] * processes
    # A read-modify-write without the compare under the lock loses increments when two
    # processes read the same n; fenced, each refused write was retried on a fresh read.
    assert fenced_store.get_job("counter")["n"] == processes * times
    refused = sum(fenced_store.get_job("tallies").values())
    assert refused > 0, "the processes never raced: the test proved nothing"
