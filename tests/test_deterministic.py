"""Deterministic mode: store calls take turns, so one seed gives one history, operation numbers
and all, with kills, damage and pauses; the mode is refused where it cannot apply."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ScenarioError
from harness.scenario.loader import TURNS_PER_PROCESS, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
MAIN_ROLES = ("writer", "reader", "updater", "worker")

needs_strace = pytest.mark.skipif(
    shutil.which("strace") is None or os.geteuid() != 0,
    reason="kills at a system call need strace and root",
)

SCENARIO = """
name = "turns"
checkers = ["never_raises", "no_torn_read", "acknowledged_writes_survive", "no_lost_update"]
[options]
recover_on_restart = true
[workload]
jobs = 3
payload_bytes = [100, 2048]
duration = 1.0
deterministic = true
turns = {turns}
[[processes]]
role = "writer"
count = 2
restart = true
[[processes]]
role = "reader"
count = 2
[[processes]]
role = "updater"
count = 1
{faults}
"""

KILL_AND_DAMAGE = """
[[faults]]
kind = "kill"
target = "writer-0"
at = "syscall"
syscall = "rename"
nth = 3
[[faults]]
kind = "damage"
file = "main"
how = ["empty", "garbage"]
times = 3
[[faults]]
kind = "pause"
target = "reader-1"
ms = 250
"""


def _scenario(tmp_path: Path, turns: int = 60, faults: str = KILL_AND_DAMAGE) -> Path:
    path = tmp_path / "turns.toml"
    path.write_text(SCENARIO.format(turns=turns, faults=faults))
    return path


def _history(out: Path) -> list[tuple[str, str, str, str | None]]:
    """The run's merged history, without times: who did what, in order."""
    (history,) = out.glob("scenarios/*/history.jsonl")
    records = [json.loads(line) for line in history.read_text().splitlines()]
    return [(r["process"], r["type"], r["f"], r.get("job")) for r in records]


def _main_phase_calls(history: list[tuple[str, str, str, str | None]]) -> int:
    return sum(
        1
        for process, kind, f, _ in history
        if kind == "invoke"
        and process.split("-")[0] in MAIN_ROLES
        and f in ("save", "get", "update")  # phase470 has no recover(): that is an event, no call
    )


def _run(path: Path, out: Path, seed: int, store: str = "phase470") -> int:
    return main(["run", str(path), "--store", store, "--seed", str(seed), "--out", str(out)])


@needs_strace
def test_one_seed_gives_one_history_under_kills_damage_and_a_pause(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    runs = [tmp_path / f"run-{index}" for index in range(3)]
    for out in runs:
        _run(path, out, seed=5)
    first = _history(runs[0])
    assert _main_phase_calls(first) == 60  # the turns, no more and no fewer
    assert any(f == "kill" for _, _, f, _ in first) and any(f == "damage" for _, _, f, _ in first)
    assert any(p == "writer-0.1" for p, *_ in first)  # the killed writer came back
    for out in runs[1:]:
        assert _history(out) == first
    _run(path, tmp_path / "other-seed", seed=6)
    assert _history(tmp_path / "other-seed") != first  # the seed, not luck, fixes the order


def test_a_failure_replays_on_the_same_operation_numbers(tmp_path: Path) -> None:
    """The phase470 store's worker leaves jobs running when it is killed: the evidence names
    the same operations in every replay."""
    path = _scenario(tmp_path, 40, "")
    path.write_text(
        path.read_text()
        .replace('role = "writer"\ncount = 2\nrestart = true', 'role = "worker"\ncount = 2')
        .replace('"no_lost_update"]', '"no_lost_update", "terminal_state"]')
        + '[[faults]]\nkind = "kill"\ntarget = "worker-1"\nat = "random"\n'
    )
    evidence = []
    for index in range(2):
        out = tmp_path / f"run-{index}"
        assert _run(path, out, seed=11) == 1
        report = json.loads((out / "report.json").read_text())
        (scenario,) = report["scenarios"]
        failed = {c["name"]: c["evidence_operations"] for c in scenario["checks"] if not c["valid"]}
        assert failed.get("terminal_state"), failed
        evidence.append(failed)
    assert evidence[0] == evidence[1]


def test_turns_default_to_forty_a_process_and_need_deterministic(tmp_path: Path) -> None:
    text = SCENARIO.format(turns=1, faults="").replace("turns = 1\n", "")
    scenario = parse_scenario(tomllib.loads(text), "t.toml")
    assert scenario.workload.turns == TURNS_PER_PROCESS * 5
    free = text.replace("deterministic = true", "turns = 9")
    with pytest.raises(
        ScenarioError, match=r"workload\.turns: expected turns only with deterministic"
    ):
        parse_scenario(tomllib.loads(free), "t.toml")
    suite = load_scenario(ROOT / "scenarios" / "same-job-writers.toml")
    assert not suite.workload.deterministic
    assert suite.in_turns().workload.deterministic
    assert suite.in_turns().scaled(0.25).workload.turns >= 10
    latency = load_scenario(ROOT / "scenarios" / "latency.toml")
    assert latency.in_turns() is latency  # no concurrent main phase to take turns in


def test_the_replay_command_keeps_deterministic_and_a_service_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, 20, "")
    out = tmp_path / "run"
    main(
        [
            "run",
            str(path),
            "--store",
            "hardened",
            "--seed",
            "3",
            "--deterministic",
            "--out",
            str(out),
        ]
    )
    assert "--deterministic" in json.loads((out / "report.json").read_text())["replay"]
    capsys.readouterr()
    code = main(["verify", "--service", "builtin", "--deterministic", "--out", str(tmp_path / "s")])
    assert code == 2
    assert "leave out --deterministic or --service" in capsys.readouterr().err
