"""``harness.verify(...)``: the suite from Python, a typed report back, the trend log left alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.errors import ConfigError
from harness.results import RunReport


def make_store(root: Path) -> Any:
    """A factory defined in a test file: the children load it by this file's path."""
    from durable_jobs.file_store import FileJobStore

    return FileJobStore(root)


@pytest.mark.skipif(os.geteuid() != 0, reason="disk-errors injects faults with strace as root")
def test_a_factory_function_is_verified_and_the_report_is_typed(tmp_path: Path) -> None:
    trend = Path(os.environ["JOBHARNESS_TREND"])
    before = trend.read_bytes() if trend.exists() else b""
    chosen = ["damage-job-file", "disk-errors"]  # C5 needs errors to read: disk-errors has them
    report = harness.verify(make_store, scenarios=chosen, out=tmp_path / "run", seed=4)
    assert isinstance(report, RunReport)
    assert report.verdict == "pass", report.failure_message()
    assert report.store == f"{__file__}:make_store"
    assert report.folder == tmp_path / "run"
    assert (tmp_path / "run" / "report.html").is_file()
    assert report.criterion("C7") is not None and report.criterion("C7").status == "pass"
    assert "--only damage-job-file" in report.replay
    assert (trend.read_bytes() if trend.exists() else b"") == before  # no trend line


def test_a_broken_store_fails_with_a_message_naming_criterion_evidence_and_fix(
    tmp_path: Path,
) -> None:
    report = harness.verify("phase470", scenarios=["damage-job-file"], out=tmp_path, seed=3)
    assert report.verdict == "fail"
    message = report.failure_message()
    assert "C7 Backup recovery works on corruption: FAIL" in message
    assert "first: damage-job-file: op #" in message
    assert "fix: " in message and "replay: jobharness verify --store phase470" in message


def test_a_lambda_or_an_unknown_scenario_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="module-level function"):
        harness.verify(lambda root: None, out=tmp_path)
    with pytest.raises(ConfigError, match="--only no-such: no scenario of that name"):
        harness.verify("hardened", scenarios=["no-such"], out=tmp_path)


def test_a_store_that_cannot_be_opened_is_unknown_not_an_exception(tmp_path: Path) -> None:
    spec = tmp_path / "broken.py"
    spec.write_text("def make(root):\n    raise RuntimeError('no database configured')\n")
    report = harness.verify(f"{spec}:make", out=tmp_path / "run", seed=1)
    assert report.verdict == "unknown" and report.preflight_failed
    assert "no database configured" in report.failure_message()


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_runs_in_one_process_leave_no_descriptor_behind(tmp_path: Path) -> None:
    """The pytest plugin and the API run many scenarios in one process: every process forked
    later inherits what is left open, and would start near its descriptor limit (the leak
    scenario once judged a correct store a leaker after 250 descriptors piled up)."""
    chosen = ["worker-crash", "damage-job-file"]
    harness.verify("hardened", scenarios=chosen, out=tmp_path / "first", seed=4)  # warmed up
    before = open_descriptors()
    for run in ("second", "third"):
        harness.verify("hardened", scenarios=chosen, out=tmp_path / run, seed=4)
    assert open_descriptors() == before
