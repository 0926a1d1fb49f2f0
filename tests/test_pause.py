"""Pause, end to end: real processes stopped (SIGSTOP) and continued (SIGCONT).

A paused process is neither dead nor hung: the history shows each pause as a window on the
process, the process does nothing inside it, the hardened store passes, the stopped time is not
counted against the store call in flight, and no process is left stopped after the run.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from harness import runner
from harness.checkers import run_checker
from harness.history.fault_windows import STOPPED, faults_of
from harness.history.log import History
from harness.runner.processes import ProcessHandle, Supervisor, Timeouts
from harness.scenario.loader import load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SEED = 424242
SLOW_STORE = '''
"""A correct store whose saves take 0.2 s: a call is in flight when its process is paused."""
import time
from durable_jobs.file_store import FileJobStore


class SlowSaves(FileJobStore):
    def save_job(self, job_id, job):
        time.sleep(0.2)
        return super().save_job(job_id, job)


def make_store(root):
    return SlowSaves(root)
'''


def process_state(pid: int) -> str:
    """The state letter of /proc/PID/stat: R, S, D, T (stopped), Z..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def wait_for_state(pid: int, wanted: set[str], timeout: float = 10.0) -> str:
    """Poll (bounded) until the process is in one of the ``wanted`` states; the last seen."""
    deadline = time.monotonic() + timeout
    state = process_state(pid)
    while state not in wanted and time.monotonic() < deadline:
        time.sleep(0.01)
        state = process_state(pid)
    return state


def idle_handle() -> ProcessHandle:
    """A real child process that sleeps, wrapped as a main-phase process of the runner."""
    context = multiprocessing.get_context("fork")
    process = context.Process(target=time.sleep, args=(60,), daemon=True)
    process.start()
    config = mock.Mock()
    config.name, config.role = "writer-0", "writer"
    return ProcessHandle(config, process, None, None, context.Value("d", 0.0, lock=False))


def test_stop_and_resume_send_sigstop_and_sigcont_to_the_process() -> None:
    handle = idle_handle()
    try:
        assert handle.stop() and handle.is_stopped
        assert wait_for_state(handle.process.pid, {"T"}) == "T"
        assert not handle.stop()  # already stopped: nothing to do
        assert handle.resume() >= 0.0 and not handle.is_stopped
        assert wait_for_state(handle.process.pid, {"S", "R"}) in {"S", "R"}
        assert handle.resume() == 0.0  # not stopped: nothing to continue
    finally:
        handle.process.kill()
        handle.process.join()


def test_the_cleanup_continues_a_stopped_process_before_it_ends_it() -> None:
    handle = idle_handle()
    supervisor = Supervisor(mock.Mock(), mock.Mock(), Timeouts(), print, print, 0.0)
    supervisor.running.append(handle)
    assert handle.stop()
    with mock.patch("harness.runner.processes.os.kill", wraps=__import__("os").kill) as kill:
        supervisor.cleanup()
    signals = [call.args[1] for call in kill.call_args_list]
    assert signals[:1] == [18] and not handle.is_stopped  # SIGCONT first, then SIGKILL
    assert not handle.is_alive()


def fake_handle(busy_for: float, stopped: list[tuple[float, float]]) -> ProcessHandle:
    """A handle whose store call began ``busy_for`` seconds ago, stopped during ``stopped``."""
    now = time.monotonic()
    busy_since = mock.Mock(value=now - busy_for)
    handle = ProcessHandle(mock.Mock(), mock.Mock(), None, None, busy_since)
    handle.stops = [[now - ago_start, now - ago_end] for ago_start, ago_end in stopped]
    return handle


@pytest.mark.parametrize(
    ("stopped", "hung"),
    [
        ([], True),  # 1.7 s in one call, with a 1 s limit: hung
        ([(1.6, 0.1)], False),  # of which 1.5 s stopped by a pause: 0.2 s of the store's
        ([(5.0, 4.0)], True),  # a pause before the call began is not the call's
    ],
)
def test_the_time_a_process_was_stopped_is_not_charged_to_its_call(
    stopped: list[tuple[float, float]], hung: bool
) -> None:
    supervisor = Supervisor(mock.Mock(), mock.Mock(), Timeouts(op=1.0), print, print, 0.0)
    with mock.patch.object(supervisor, "call_in_flight", return_value="save(j0)"):
        reason = supervisor.hung_call(fake_handle(1.7, stopped))
    assert (reason is not None) == hung, reason


def run_pause(tmp_path: Path, data: dict[str, Any], spec: str = "hardened") -> runner.RunOutcome:
    scenario = parse_scenario(data, f"test_pause:{data['name']}")
    outcome = runner.run_scenario(scenario, spec, tmp_path / data["name"], SEED)
    if not outcome.applicable:
        pytest.skip(f"cannot run here: {outcome.reason}")
    return outcome


def test_the_pause_scenario_stops_a_writer_twice_and_the_hardened_store_passes(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(SCENARIOS / "pause.toml")
    outcome = runner.run_scenario(scenario, "hardened", tmp_path / "pause", SEED)
    assert outcome.applicable, outcome.reason
    history = History(outcome.records)
    windows = [w for w in faults_of(history).windows if w.effect == STOPPED]
    assert len(windows) == 2 and all(w.kind == "pause" for w in windows)
    for window in windows:
        assert window.process and window.process.startswith("writer-")
        stopped_ops = [
            op
            for op in history.operations
            # Margins for the signals' delivery: the window is recorded around them.
            if op.process == window.process and window.start + 0.05 < op.start < window.end - 0.05
        ]
        assert not stopped_ops, f"{window.process} worked while stopped: {stopped_ops[0]}"
    ends = history.of("pause-end")
    assert len(ends) == 2 and all(op.result["stopped_for"] > 0 for op in ends)
    assert not history.of("crash"), "a pause is not a death"
    assert not [op for op in history.operations if (op.error or "").startswith("timed out")]
    for name in scenario.checkers:
        result = run_checker(name, history)
        assert result.valid is not False and not result.crashed, result.summary


def test_a_call_in_flight_when_its_process_is_paused_is_not_charged_as_hung(
    tmp_path: Path,
) -> None:
    store = tmp_path / "slow_saves.py"
    store.write_text(SLOW_STORE)
    data = {
        "name": "paused-mid-save",
        "checkers": ["never_raises"],
        "workload": {"jobs": 1, "duration": 3.0},
        "processes": [{"role": "writer"}],
        "faults": [{"kind": "pause", "target": "writer-0", "seconds": 1.5}],
    }
    # A call may take 1 s: the 1.5 s pause of a 0.2 s save would be a hang if it were counted.
    with mock.patch.object(runner, "OP_TIMEOUT", 1.0):
        outcome = run_pause(tmp_path, data, f"{store}:make_store")
    history = History(outcome.records)
    (window,) = faults_of(history).windows
    saves = [op for op in history.of("save") if op.process == "writer-0"]
    assert any(op.start < window.start and op.end > window.end for op in saves), (
        "no save was in flight across the pause: the test did not test the hang rule"
    )
    assert not [op for op in history.operations if (op.error or "").startswith("timed out")]
    assert run_checker("never_raises", history).valid is True
