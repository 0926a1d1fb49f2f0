"""SIGTERM (what CI and ``timeout`` send) stops a run as Ctrl-C does, and keeps what finished.

A real ``jobharness verify --quick`` in its own session gets SIGTERM while its third scenario
runs: it must exit with 143, leave no process of its session, no mount, no temporary folder and
no store folder behind, and write a partial report.json (the finished scenarios judged, the rest
unknown, never a pass) that ``analyze`` and ``report`` accept.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def session_processes(session: int) -> list[str]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(stat.parent.name)
    return found


def test_sigterm_stops_the_run_cleans_up_and_keeps_a_partial_report(tmp_path: Path) -> None:
    scratch, run = tmp_path / "tmp", tmp_path / "run"
    scratch.mkdir()
    log = tmp_path / "out.log"
    env = {**os.environ, "TMPDIR": str(scratch)}
    with open(log, "w") as out:
        harness = subprocess.Popen(
            [str(BIN / "jobharness"), "verify", "--quick", "--out", str(run), "--seed", "2"],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "[ 3/" in log.read_text(), 120, "the third scenario to start")
        harness.send_signal(signal.SIGTERM)
        _, stderr = harness.communicate(timeout=90)
    finally:
        if harness.poll() is None:
            os.killpg(harness.pid, signal.SIGKILL)
    assert harness.returncode == 143, stderr
    assert "interrupted by SIGTERM" in stderr and "Traceback" not in stderr
    wait_for(lambda: not session_processes(harness.pid), 10, "the session's processes to end")
    assert str(tmp_path) not in Path("/proc/mounts").read_text()
    assert list(scratch.iterdir()) == []
    assert not list(run.glob("scenarios/*/store"))
    report = json.loads((run / "report.json").read_text())
    assert report["verdict"] in ("unknown", "fail")  # what did not finish is never a pass
    assert re.search(r"interrupted by SIGTERM after 2 of \d+ scenarios", report["reason"])
    statuses = [s["status"] for s in report["scenarios"]]
    assert statuses[:2] == ["pass", "pass"] and set(statuses[2:]) == {"unknown"}
    again = subprocess.run(
        [str(BIN / "jobharness"), "analyze", str(run)], capture_output=True, text=True, env=env
    )
    assert again.returncode == 2 and "Traceback" not in again.stderr, again.stderr
    page = subprocess.run(
        [str(BIN / "jobharness"), "report", str(run), "--out", str(tmp_path / "page")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert page.returncode == 0, page.stderr
