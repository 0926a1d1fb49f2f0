"""The http_* checkers on literal service histories: each rule passes, fails, and excuses only
what it says it excuses (a 503 inside an outage the harness made, a job its restart interrupted).
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.checkers import run_checker
from harness.checkers.result import CheckResult
from harness.history.fault_windows import CALLS_FAIL, window_closed, window_opened
from harness.history.log import History, Record
from harness.scenario.loader import HTTP_CHECKERS


class Service:
    """A service history written by hand, one operation at a time, on a clock we advance."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.clock = 0.0
        self.event("runner", "profile", {"outage_codes": [503], "rescue_bound": 5.0})
        self.event("runner", "phase", {"phase": "main"})

    def _op(
        self, process: str, f: str, job: str | None, value: Any, kind: str, result: Any
    ) -> None:
        self.clock += 0.01
        self.records.append(Record(process, "invoke", f, job, value, self.clock))
        self.clock += 0.01
        done_job = result.get("id") if f == "submit" and isinstance(result, dict) else job
        self.records.append(Record(process, kind, f, done_job, result, self.clock, elapsed=0.005))

    def event(self, process: str, f: str, value: Any, job: str | None = None) -> None:
        self._op(process, f, job, value, "info", value)

    def submit(self, job: str, instance: str = "instance-0") -> None:
        value = {"upload": "u", "instance": instance}
        self._op(
            "submitter-0",
            "submit",
            None,
            value,
            "ok",
            {"code": 202, "id": job, "instance": instance},
        )

    def status(
        self,
        job: str,
        status: str | None,
        code: int = 200,
        *,
        process: str = "poller-0",
        instance: str = "instance-0",
        error: str | None = None,
    ) -> None:
        result = {
            "code": code,
            "status": status,
            "error": error,
            "body": error or "",
            "instance": instance,
        }
        self._op(process, "status", job, {"instance": instance}, "ok", result)

    def download(self, job: str, sha: str, code: int = 200, process: str = "poller-0") -> None:
        result = {"code": code, "sha256": sha if code == 200 else None, "instance": "instance-0"}
        self._op(process, "download", job, {"instance": "instance-0"}, "ok", result)

    def phase(self, name: str) -> None:
        self.event("runner", "phase", {"phase": name, "bound": 5.0})

    def window(self, opened: bool, errno: str = "ENOSPC", process: str | None = None) -> None:
        fault = (
            window_opened("full#1", CALLS_FAIL, process=process, errno=errno, label="disk full")
            if opened
            else window_closed("full#1")
        )
        self._op("nemesis", "fill-disk" if opened else "free-disk", None, fault, "ok", None)

    def check(self, name: str) -> CheckResult:
        return run_checker(name, History(sorted(self.records, key=lambda r: r.time)))


def finished(job: str = "j1") -> Service:
    service = Service()
    service.submit(job)
    service.status(job, "running")
    service.status(job, "done")
    service.download(job, "aa")
    service.phase("restart")
    service.phase("final")
    service.status(job, "done", process="final")
    service.download(job, "aa", process="final")
    return service


@pytest.mark.parametrize("name", HTTP_CHECKERS)
def test_every_http_checker_has_nothing_to_judge_in_an_empty_history(name: str) -> None:
    result = run_checker(name, History([]))
    assert result.valid is None and not result.crashed, result.summary


def test_a_finished_job_passes_every_checker_that_judges_it() -> None:
    service = finished()
    for name in ("http_no_5xx", "http_terminal", "http_download_stable", "http_no_loss"):
        assert service.check(name).valid is True, (name, service.check(name).summary)


def test_a_500_from_get_fails_c2_and_a_503_inside_an_outage_does_not() -> None:
    service = Service()
    service.submit("j1")
    service.window(True)
    service.status("j1", None, 503)
    service.window(False)
    assert service.check("http_no_5xx").valid is True
    service.status("j1", None, 503)  # outside the window: no excuse
    service.status("j1", None, 500)
    result = service.check("http_no_5xx")
    assert result.valid is False and result.counts["status_5xx"] == 2
    assert result.evidence[0].startswith("op #") and "answered 503" in result.evidence[0]


def test_a_job_still_running_after_the_restart_is_stuck() -> None:
    service = Service()
    service.submit("j1")
    service.phase("restart")
    service.phase("final")
    service.status("j1", "running", process="final")
    result = service.check("http_terminal")
    assert result.valid is False and result.counts["stuck_running"] == 1


def test_a_done_job_going_back_or_changing_its_download_fails_c4() -> None:
    service = finished()
    service.status("j1", "running")
    service.download("j1", "bb")
    result = service.check("http_download_stable")
    assert result.valid is False
    assert (result.counts["went_back"], result.counts["download_changed"]) == (1, 1)


def test_a_404_after_a_202_is_a_lost_job() -> None:
    service = Service()
    service.submit("j1")
    service.status("j1", None, 404)
    result = service.check("http_no_loss")
    assert result.valid is False and result.counts["lost"] == 1


def test_a_job_error_during_a_full_disk_must_name_enospc() -> None:
    service = Service()
    service.submit("j1")
    service.window(True)
    service.status("j1", "error", error="the job failed while writing its result")
    service.window(False)
    result = service.check("http_clear_errors")
    assert result.valid is False and "does not name the injected ENOSPC" in result.evidence[0]
    service = Service()
    service.submit("j1")
    service.window(True)
    service.status("j1", "error", error="[Errno 28] No space left on device: results/j1.csv")
    service.window(False)
    assert service.check("http_clear_errors").valid is True


def test_a_bare_internal_server_error_is_not_a_clear_message() -> None:
    service = Service()
    service.submit("j1")
    service.status("j1", None, 500, error=None)
    service.records[-1] = Record(
        "poller-0",
        "ok",
        "status",
        "j1",
        {"code": 500, "body": "Internal Server Error"},
        service.clock,
    )
    assert service.check("http_clear_errors").valid is False


def test_a_live_instances_job_failed_by_another_fails_leases() -> None:
    service = Service()
    service.submit("j1", instance="instance-0")
    service.submit("j2", instance="instance-1")
    service.status("j1", "error", instance="instance-1", error="abandoned: its lease expired")
    result = service.check("http_leases")
    assert result.valid is False and result.counts["failed_live"] == 1


def test_a_job_the_harness_restart_interrupted_is_not_a_live_job_failed() -> None:
    service = Service()
    service.submit("j1", instance="instance-0")
    service.submit("j2", instance="instance-1")
    service.phase("restart")
    service.status("j1", "error", instance="instance-1", error="interrupted: the service shut down")
    assert service.check("http_leases").valid is True


def test_after_damage_a_finished_job_must_stay_finished() -> None:
    from harness.history.fault_windows import files_damaged

    service = finished()
    damage = {"applied": ["main"], **files_damaged("j1", ["main"], "truncate", "damage j1")}
    service._op("nemesis", "damage", "j1", {"file": "main"}, "ok", damage)
    service.status("j1", "done")
    assert service.check("http_last_good").valid is True
    service.status("j1", "running")
    result = service.check("http_last_good")
    assert result.valid is False and result.counts["rolled_back"] == 1


def test_a_job_error_written_after_its_instance_died_need_not_name_the_disk_error() -> None:
    service = Service()
    service.submit("j1")
    service.window(True, errno="EIO")
    service.event("runner", "instance-exit", {"instance": "instance-0", "code": -6})
    service.status("j1", "error", error="interrupted: the server restarted while this job ran")
    service.window(False)
    assert service.check("http_clear_errors").valid is True
