"""The requests chart of a service run: one mark per request, 5xx as crosses, faults shaded."""

from __future__ import annotations

from harness.history.fault_windows import CALLS_FAIL, window_closed, window_opened
from harness.history.log import Record
from harness.report.requests_section import requests_chart


def request(index: int, code: int, at: float) -> list[Record]:
    value = {"code": code, "instance": "instance-0"}
    return [
        Record("poller-0", "invoke", "status", "j1", {"instance": "instance-0"}, at),
        Record("poller-0", "ok", "status", "j1", value, at + 0.004, elapsed=0.004),
    ]


def test_every_request_is_drawn_and_a_5xx_is_a_cross_inside_its_fault_window() -> None:
    opened = window_opened("full#1", CALLS_FAIL, errno="ENOSPC", label="disk full")
    records = [Record("nemesis", "invoke", "fill-disk", None, opened, 0.5)]
    records.append(Record("nemesis", "ok", "fill-disk", None, None, 0.5))
    for n in range(10):
        records += request(n, 503 if n == 5 else 200, 0.1 * n)
    records.append(Record("nemesis", "invoke", "free-disk", None, window_closed("full#1"), 0.7))
    records.append(Record("nemesis", "ok", "free-disk", None, None, 0.7))
    svg = requests_chart("rq-test", "test", sorted(records, key=lambda r: r.time))
    assert svg.count("<circle") == 9
    assert svg.count("<path") == 1  # the 503, as a cross
    assert "answered 503" in svg and "disk full" in svg
    assert svg.count("<rect") == 1


def test_a_history_without_requests_draws_nothing() -> None:
    assert (
        requests_chart("rq-none", "none", [Record("runner", "invoke", "phase", None, {}, 0.0)])
        == ""
    )
